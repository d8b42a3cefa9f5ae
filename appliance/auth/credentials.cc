#include "appliance/auth/credentials.h"

#include "appliance/auth/sigv4.h"
#include "appliance/http/api_error.h"

namespace annex::auth {

Status CheckSessionToken(const Credential& credential, std::string_view token,
                         std::chrono::system_clock::time_point now) {
  const Session* session = credential.principal.session.get();
  bool token_matches = session ? !token.empty() && SignaturesEqual(token, session->token) : token.empty();
  if (!token_matches) {
    return http::ApiStatus("InvalidToken", "The provided token is malformed or otherwise invalid.");
  }
  if (session && now >= session->expiration) {
    return http::ApiStatus("ExpiredToken", "The provided token has expired.");
  }
  return Status::OK();
}

}  // namespace annex::auth
