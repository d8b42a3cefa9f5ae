#pragma once
// CredentialLookup: where SigV4 verification finds the secret for an access
// key id. Implemented by the IAM identity store; tests use a map.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/auth/principal.h"

namespace annex::auth {

struct Credential {
  std::string access_key_id;
  std::string secret_access_key;
  Principal principal;  // who the key belongs to (anonymous=false)
};

class CredentialLookup {
 public:
  virtual ~CredentialLookup() = default;
  // The active credential for `access_key_id`, or nullopt if unknown/inactive.
  virtual std::optional<Credential> Find(std::string_view access_key_id) const = 0;
};

}  // namespace annex::auth
