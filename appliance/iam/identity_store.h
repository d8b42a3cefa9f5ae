#pragma once
// IdentityStore: accounts, their IAM users and access keys, persisted in
// LMDB (<data>/iam). It is the CredentialLookup the SigV4 verifier uses.
//
// Model: an account owns resources; its root identity and its users sign
// with access keys. Each user has at most two keys, as in IAM.
//
// Thread-safe. Lookups are LMDB reads; changes are durable when they return.

#include <memory>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <vector>

#include "appliance/auth/credentials.h"
#include "appliance/core/result.h"
#include "appliance/os/clock.h"
#include "appliance/store/lmdb_env.h"

namespace annex::iam {

struct Account {
  std::string id;    // 12 digits
  std::string name;
  os::SystemTime created;
};

struct User {
  std::string account_id;
  std::string name;
  std::string user_id;  // AIDA…
  std::string arn;
  os::SystemTime created;
};

struct AccessKey {
  std::string access_key_id;  // AKIA…
  std::string secret_access_key;
  std::string account_id;
  std::string user_name;  // empty for the account root
  bool active = true;
  os::SystemTime created;
};

class IdentityStore final : public auth::CredentialLookup {
 public:
  // Opens or creates the store in `dir`.
  static Result<std::unique_ptr<IdentityStore>> Open(const std::string& dir, const os::Clock& clock);

  // auth::CredentialLookup
  std::optional<auth::Credential> Find(std::string_view access_key_id) const override;

  // Creates an account named `name` (unique) with one root access key.
  // AlreadyExists (subcode EntityAlreadyExists) if the name is taken.
  Result<std::pair<Account, AccessKey>> CreateAccount(const std::string& name);
  Result<Account> GetAccount(const std::string& account_id) const;
  Result<Account> FindAccountByName(const std::string& name) const;
  Result<std::vector<Account>> ListAccounts() const;
  // Adds a root key with exactly these values (for ANNEX_ROOT_* credentials);
  // a no-op if the key already exists for this account with this secret.
  Status ImportRootKey(const std::string& account_id, const std::string& access_key_id, const std::string& secret);

  // IAM users. Errors carry IAM codes: EntityAlreadyExists, NoSuchEntity,
  // ValidationError, LimitExceeded, DeleteConflict.
  Result<User> CreateUser(const std::string& account_id, const std::string& user_name);
  Result<User> GetUser(const std::string& account_id, const std::string& user_name) const;
  Result<std::vector<User>> ListUsers(const std::string& account_id) const;
  Status DeleteUser(const std::string& account_id, const std::string& user_name);

  // Keys of `user_name` in `account_id` (empty user = the account root).
  Result<AccessKey> CreateAccessKey(const std::string& account_id, const std::string& user_name);
  Result<std::vector<AccessKey>> ListAccessKeys(const std::string& account_id, const std::string& user_name) const;
  Status DeleteAccessKey(const std::string& account_id, const std::string& user_name, const std::string& access_key_id);
  Status SetAccessKeyActive(const std::string& account_id, const std::string& user_name,
                            const std::string& access_key_id, bool active);

 private:
  IdentityStore(std::unique_ptr<store::LmdbEnv> env, const os::Clock& clock);
  Status Init();
  Result<AccessKey> NewKeyLocked(store::WriteTxn& txn, const std::string& account_id, const std::string& user_name);
  // The key `access_key_id` if it belongs to exactly this identity, else NoSuchEntity.
  Result<AccessKey> OwnKey(const store::ReadTxn& txn, const std::string& account_id, const std::string& user_name,
                           const std::string& access_key_id) const;

  // Forgets a cached credential after its key changed.
  void Invalidate(const std::string& access_key_id);

  std::unique_ptr<store::LmdbEnv> env_;
  const os::Clock& clock_;
  // Every signed request looks its key up; keys change rarely and only here.
  mutable std::shared_mutex cache_mu_;
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::unordered_map<std::string, auth::Credential, KeyHash, std::equal_to<>> cache_;
  // Bumped by every invalidation: a lookup that raced with a key change must
  // not put what it read before the change into the cache.
  uint64_t cache_generation_ = 0;
  store::Table accounts_;       // account id → Account
  store::Table account_names_;  // name → account id
  store::Table users_;          // account id '\0' user name → User
  store::Table keys_;           // access key id → AccessKey
};

// Validates an IAM user name: 1–64 of [A-Za-z0-9+=,.@_-].
bool IsValidUserName(std::string_view name);

}  // namespace annex::iam
