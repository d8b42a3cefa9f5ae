#pragma once
// CredentialLookup: where SigV4 verification finds the secret for an access
// key id. Implemented by the IAM identity store; tests use a map.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/auth/principal.h"
#include "appliance/core/status.h"

namespace annex::auth {

struct Credential {
  std::string access_key_id;
  std::string secret_access_key;
  Principal principal;  // who the key belongs to (anonymous=false); its session for temporary keys
};

class CredentialLookup {
 public:
  virtual ~CredentialLookup() = default;
  // The active credential for `access_key_id`, or nullopt if unknown/inactive.
  virtual std::optional<Credential> Find(std::string_view access_key_id) const = 0;
};

// Temporary credentials work only with their own session token (compared
// in constant time) and until they expire; a token presented with a
// long-term key is refused too, as AWS does, rather than ignored. Errors
// carry S3's codes: InvalidToken, ExpiredToken.
Status CheckSessionToken(const Credential& credential, std::string_view token,
                         std::chrono::system_clock::time_point now);

}  // namespace annex::auth
