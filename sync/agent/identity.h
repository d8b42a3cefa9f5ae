#pragma once
// The appliance's enrollment as the agent keeps it: zone, key, certificate,
// the pinned CA, and the control plane's address it enrolled with. One file,
// <state_dir>/identity/identity.json (mode 0600), replaced atomically, so a
// crash never pairs a new key with an old certificate, nor a new certificate
// with another control plane's address. Plain functions, no shared state.

#include <optional>
#include <string>

#include "appliance/core/result.h"

namespace annex::sync {

struct Identity {
  std::string zone;
  std::string key_pem;
  std::string cert_pem;
  std::string ca_pem;
  // HOST:PORT of the control plane's sync port; empty in identities written
  // before the address was kept.
  std::string control_plane;
};

std::string IdentityPath(const std::string& state_dir);

// nullopt when the appliance has not enrolled; Corruption for a damaged file.
Result<std::optional<Identity>> LoadIdentity(const std::string& state_dir);

// Creates identity/ if needed and replaces the file atomically.
Status SaveIdentity(const std::string& state_dir, const Identity& identity);

}  // namespace annex::sync
