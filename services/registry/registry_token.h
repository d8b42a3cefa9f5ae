#pragma once
// RegistryTokens: ECR's authorization tokens. GetAuthorizationToken hands a
// signed caller a token; clients log in with user "AWS" and the token as the
// password (`aws ecr get-login-password | podman login -u AWS
// --password-stdin`), and send it as HTTP Basic (or as a Bearer token) on
// every /v2/ request.
//
// A token is self-contained and tamper-evident: the caller's access key id,
// account and expiry under an HMAC-SHA256 with a key of the appliance's,
// generated at first start and kept 0600 in the registry's directory — no
// default secret. It is valid for 12 hours, as ECR's, and only while the
// access key it was issued for still is: the principal is looked up again
// on every use (a deleted user or key, or an expired session, ends it).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/auth/credentials.h"
#include "appliance/auth/principal.h"
#include "appliance/core/result.h"
#include "appliance/os/clock.h"
#include "appliance/os/file_system.h"

namespace annex::registry {

struct IssuedToken {
  std::string token;  // base64 of "AWS:<password>", as ECR's authorizationToken
  std::string password;
  os::SystemTime expires_at;
};

class RegistryTokens {
 public:
  static constexpr std::chrono::hours kLifetime{12};

  // Loads the signing key from `key_path`, creating it on first use.
  static Result<std::unique_ptr<RegistryTokens>> Open(os::FileSystem& fs, const std::string& key_path,
                                                      const auth::CredentialLookup& credentials, const os::Clock& clock);

  // A token for `principal`, which authenticated with `access_key_id`.
  IssuedToken Issue(const auth::Principal& principal, std::string_view access_key_id) const;

  // The principal a /v2/ request's Authorization header ("Basic …" or
  // "Bearer …") stands for. Unauthenticated (the distribution API's
  // UNAUTHORIZED) for a missing, malformed, forged or expired token, or one
  // whose key is gone.
  Result<auth::Principal> Authenticate(std::string_view authorization) const;

 private:
  RegistryTokens(std::string key, const auth::CredentialLookup& credentials, const os::Clock& clock)
      : key_(std::move(key)), credentials_(credentials), clock_(clock) {}
  std::string key_;
  const auth::CredentialLookup& credentials_;
  const os::Clock& clock_;
};

}  // namespace annex::registry
