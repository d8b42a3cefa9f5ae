#pragma once
// The appliance's root account: created on first start with a random access
// key written 0600 to <data>/credentials (an AWS shared-credentials file with
// profile [annex]), or taken from ANNEX_ROOT_ACCESS_KEY_ID /
// ANNEX_ROOT_SECRET_ACCESS_KEY. There is no built-in default secret.

#include <optional>
#include <string>

#include "appliance/core/result.h"
#include "appliance/iam/identity_store.h"
#include "appliance/os/file_system.h"

namespace annex::iam {

inline constexpr std::string_view kRootAccountName = "root";

struct RootCredentials {
  std::string account_id;
  std::string access_key_id;
  std::string secret_access_key;
  std::string credentials_file;  // empty when the key came from the environment
};

struct RootKeyFromEnv {
  std::string access_key_id;
  std::string secret_access_key;
};

// Makes sure the root account and a usable root key exist.
Result<RootCredentials> EnsureRootCredentials(IdentityStore& identities, os::FileSystem& fs,
                                              const std::string& data_dir,
                                              const std::optional<RootKeyFromEnv>& from_env);

// The text of an AWS shared-credentials file holding one profile.
std::string FormatCredentialsFile(std::string_view profile, std::string_view access_key_id,
                                  std::string_view secret_access_key);

}  // namespace annex::iam
