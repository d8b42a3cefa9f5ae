#pragma once
// IdentityStore: accounts, their IAM users and access keys, persisted in
// LMDB (<data>/iam). It is the CredentialLookup the SigV4 verifier uses.
//
// Model: an account owns resources; its root identity and its users sign
// with access keys. Each user has at most two keys, as in IAM.
//
// Thread-safe. Lookups are LMDB reads; changes are durable when they return.

#include <chrono>
#include <map>
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

// Whose user record or access keys an operation addresses: the account root
// or one named user. The root can only be named explicitly (Root()); an
// empty or malformed user name never stands for it, so a request parameter
// that is present but empty cannot select the root by accident.
class Identity {
 public:
  static Identity Root(std::string account_id) { return Identity(std::move(account_id), "", true); }
  static Identity User(std::string account_id, std::string user_name) {
    return Identity(std::move(account_id), std::move(user_name), false);
  }

  const std::string& account_id() const { return account_id_; }
  const std::string& user_name() const { return user_name_; }  // empty for the root
  bool is_root() const { return root_; }
  // arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME.
  std::string Arn() const;

 private:
  Identity(std::string account_id, std::string user_name, bool root)
      : account_id_(std::move(account_id)), user_name_(std::move(user_name)), root_(root) {}

  std::string account_id_;
  std::string user_name_;
  bool root_;
};

struct Group {
  std::string account_id;
  std::string name;
  std::string path = "/";
  std::string group_id;  // AGPA…
  std::string arn;       // arn:aws:iam::ACCOUNT:group/PATHNAME
  os::SystemTime created;
};

struct Role {
  std::string account_id;
  std::string name;
  std::string path = "/";
  std::string role_id;  // AROA…
  std::string arn;      // arn:aws:iam::ACCOUNT:role/PATHNAME
  std::string trust_policy;  // AssumeRolePolicyDocument, validated by the caller
  std::string description;
  int max_session_seconds = 3600;  // 3600–43200
  std::vector<std::pair<std::string, std::string>> tags;
  os::SystemTime created;
};

// What a session is created for: a role (AssumeRole, workload credentials)
// or a user's or root's own session (GetSessionToken).
struct SessionSpec {
  std::string account_id;
  std::string user_name;     // GetSessionToken of a user
  const Role* role = nullptr;  // AssumeRole
  std::string session_name;  // a role session's RoleSessionName
  std::chrono::seconds duration{3600};
  std::vector<std::string> policies;  // session policy documents, validated by the caller
  std::vector<std::pair<std::string, std::string>> tags;
};

struct TemporaryCredentials {
  std::string access_key_id;  // ASIA…
  std::string secret_access_key;
  std::string session_token;
  os::SystemTime expiration;
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
  // ValidationError (a name that is empty or not a valid user name; never
  // read as the root), LimitExceeded, DeleteConflict.
  Result<User> CreateUser(const std::string& account_id, const std::string& user_name);
  Result<User> GetUser(const std::string& account_id, const std::string& user_name) const;
  Result<std::vector<User>> ListUsers(const std::string& account_id) const;
  Status DeleteUser(const std::string& account_id, const std::string& user_name);

  // Groups and their members; errors as for users.
  Result<Group> CreateGroup(const std::string& account_id, const std::string& name, const std::string& path);
  Result<Group> GetGroup(const std::string& account_id, const std::string& name) const;
  Result<std::vector<Group>> ListGroups(const std::string& account_id) const;
  // DeleteConflict while the group has members.
  Status DeleteGroup(const std::string& account_id, const std::string& name);
  Status AddUserToGroup(const std::string& account_id, const std::string& group, const std::string& user);
  Status RemoveUserFromGroup(const std::string& account_id, const std::string& group, const std::string& user);
  Result<std::vector<std::string>> ListGroupMembers(const std::string& account_id, const std::string& group) const;
  Result<std::vector<Group>> ListGroupsForUser(const std::string& account_id, const std::string& user) const;
  // The user's group names, cached until a membership changes: every
  // request of a user reads them. Null when they cannot be read.
  std::shared_ptr<const std::vector<std::string>> GroupNamesOfUser(const std::string& account_id,
                                                                   const std::string& user) const;

  // Roles. The trust policy is stored as given; its validation is the caller's.
  Result<Role> CreateRole(Role role);
  Result<Role> GetRole(const std::string& account_id, const std::string& name) const;
  Result<std::vector<Role>> ListRoles(const std::string& account_id) const;
  Status UpdateRole(const Role& role);
  Status DeleteRole(const std::string& account_id, const std::string& name);

  // Temporary credentials (STS). The session is durable when this returns;
  // expired sessions are swept as new ones are made.
  Result<TemporaryCredentials> CreateSession(const SessionSpec& spec);

  // Keys of `owner`. For Identity::User the name must be valid
  // (ValidationError) and the user must exist (NoSuchEntity). A key of any
  // other identity reads as NoSuchEntity.
  Result<AccessKey> CreateAccessKey(const Identity& owner);
  Result<std::vector<AccessKey>> ListAccessKeys(const Identity& owner) const;
  Status DeleteAccessKey(const Identity& owner, const std::string& access_key_id);
  Status SetAccessKeyActive(const Identity& owner, const std::string& access_key_id, bool active);

 private:
  IdentityStore(std::unique_ptr<store::LmdbEnv> env, const os::Clock& clock);
  Status Init();
  Result<AccessKey> NewKeyLocked(store::WriteTxn& txn, const std::string& account_id, const std::string& user_name);
  // OK if `owner` is the root of an existing account or an existing user
  // with a valid name.
  Status CheckOwner(const Identity& owner) const;
  // The key `access_key_id` if it belongs to exactly `owner`, else NoSuchEntity.
  Result<AccessKey> OwnKey(const store::ReadTxn& txn, const Identity& owner, const std::string& access_key_id) const;

  // Forgets a cached credential after its key changed.
  void Invalidate(const std::string& access_key_id);
  // A credential as its table stores it; Find adds the account and user.
  std::optional<auth::Credential> FindLongTermKey(const store::ReadTxn& txn, std::string_view access_key_id) const;
  std::optional<auth::Credential> FindSession(const store::ReadTxn& txn, std::string_view access_key_id) const;
  Status SweepExpiredSessions(store::WriteTxn& txn);
  void MembershipChanged();

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
  store::Table groups_;         // account id '\0' group name → Group
  store::Table members_;        // account id '\0' group '\0' user → ""
  store::Table user_groups_;    // account id '\0' user '\0' group → ""
  store::Table roles_;          // account id '\0' role name → Role
  store::Table sessions_;       // ASIA… key id → session record
  store::Table session_expiry_; // big-endian expiry ms + key id → ""

  mutable std::shared_mutex groups_mu_;
  mutable std::map<std::string, std::shared_ptr<const std::vector<std::string>>> groups_of_user_;
  uint64_t membership_generation_ = 0;  // under groups_mu_
};

// IAM's role and group name rules: [\w+=,.@-], 1–64 for roles, 1–128 for groups.
bool IsValidRoleName(std::string_view name);
bool IsValidGroupName(std::string_view name);

// Validates an IAM user name: 1–`max_length` of [A-Za-z0-9+=,.@_-] (ASCII
// only, as IAM's [\w+=,.@-]+). New names may have 64 characters; names of
// existing users are accepted up to 128 (existingUserNameType).
bool IsValidUserName(std::string_view name, size_t max_length = 64);

}  // namespace annex::iam
