#include "appliance/iam/root_credentials.h"

#include "appliance/core/log.h"

namespace annex::iam {

std::string FormatCredentialsFile(std::string_view profile, std::string_view access_key_id,
                                  std::string_view secret_access_key) {
  std::string out = "[";
  out.append(profile).append("]\naws_access_key_id = ").append(access_key_id);
  out.append("\naws_secret_access_key = ").append(secret_access_key).append("\n");
  return out;
}

Result<RootCredentials> EnsureRootCredentials(IdentityStore& identities, os::FileSystem& fs,
                                              const std::string& data_dir,
                                              const std::optional<RootKeyFromEnv>& from_env) {
  RootCredentials out;
  auto account = identities.FindAccountByName(std::string(kRootAccountName));
  std::optional<AccessKey> generated;
  if (!account.ok()) {
    if (!account.status().IsNotFound()) return account.status();
    ANNEX_ASSIGN_OR_RETURN(auto created, identities.CreateAccount(std::string(kRootAccountName)));
    account = created.first;
    generated = created.second;
    log::Info("created root account", {{"account_id", created.first.id}});
  }
  out.account_id = account->id;

  if (from_env) {
    if (generated) {
      // The environment supplies the key; the random one is not needed.
      ANNEX_RETURN_IF_ERROR(identities.DeleteAccessKey(Identity::Root(out.account_id), generated->access_key_id));
    }
    ANNEX_RETURN_IF_ERROR(identities.ImportRootKey(out.account_id, from_env->access_key_id, from_env->secret_access_key));
    out.access_key_id = from_env->access_key_id;
    out.secret_access_key = from_env->secret_access_key;
    return out;
  }

  out.credentials_file = os::JoinPath(data_dir, "credentials");
  if (generated) {
    std::string text = FormatCredentialsFile("annex", generated->access_key_id, generated->secret_access_key);
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, out.credentials_file, text, 0600));
    out.access_key_id = generated->access_key_id;
    out.secret_access_key = generated->secret_access_key;
    return out;
  }
  ANNEX_ASSIGN_OR_RETURN(auto keys, identities.ListAccessKeys(Identity::Root(out.account_id)));
  if (keys.empty()) {
    // Every root key was deleted: mint a new one so the operator is not locked out.
    ANNEX_ASSIGN_OR_RETURN(AccessKey k, identities.CreateAccessKey(Identity::Root(out.account_id)));
    keys.push_back(k);
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(
        fs, out.credentials_file, FormatCredentialsFile("annex", k.access_key_id, k.secret_access_key), 0600));
  }
  out.access_key_id = keys.front().access_key_id;
  out.secret_access_key = keys.front().secret_access_key;
  return out;
}

}  // namespace annex::iam
