#include "appliance/iam/identity_store.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/iam/identity_keys.h"
#include "appliance/os/random.h"
#include "appliance/store/record.h"

namespace annex::iam {
namespace {

constexpr uint8_t kVersion = 1;
constexpr std::string_view kSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxKeysPerUser = 2;

using os::FromUnixMillis;
using os::ToUnixMillis;

std::string UserKey(std::string_view account_id, std::string_view user) {
  std::string k(account_id);
  k.push_back('\0');
  k.append(user);
  return k;
}

std::string EncodeAccount(const Account& a) {
  return store::RecordWriter(kVersion).Bytes(a.id).Bytes(a.name).I64(ToUnixMillis(a.created)).Finish();
}

Result<Account> DecodeAccount(std::string_view data) {
  store::RecordReader r(data);
  Account a;
  ANNEX_ASSIGN_OR_RETURN(a.id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(a.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(int64_t ms, r.I64());
  a.created = FromUnixMillis(ms);
  return a;
}

std::string EncodeUser(const User& u) {
  return store::RecordWriter(kVersion).Bytes(u.account_id).Bytes(u.name).Bytes(u.user_id).Bytes(u.arn)
      .I64(ToUnixMillis(u.created)).Finish();
}

Result<User> DecodeUser(std::string_view data) {
  store::RecordReader r(data);
  User u;
  ANNEX_ASSIGN_OR_RETURN(u.account_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.user_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.arn, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(int64_t ms, r.I64());
  u.created = FromUnixMillis(ms);
  return u;
}

std::string EncodeKey(const AccessKey& k) {
  return store::RecordWriter(kVersion).Bytes(k.access_key_id).Bytes(k.secret_access_key).Bytes(k.account_id)
      .Bytes(k.user_name).Bool(k.active).I64(ToUnixMillis(k.created)).Finish();
}

Result<AccessKey> DecodeKey(std::string_view data) {
  store::RecordReader r(data);
  AccessKey k;
  ANNEX_ASSIGN_OR_RETURN(k.access_key_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(k.secret_access_key, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(k.account_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(k.user_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(k.active, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(int64_t ms, r.I64());
  k.created = FromUnixMillis(ms);
  return k;
}

std::string NewAccountId() {
  std::string id = os::RandomString(12, "0123456789");
  if (id[0] == '0') id[0] = '1';
  return id;
}

Status NoSuchUser(const std::string& name) {
  return Status(StatusCode::kNotFound, "The user with name " + name + " cannot be found.", "NoSuchEntity");
}

// Names of existing users: an empty name is refused here too, so no caller
// can reach the root's records through a user-name argument.
Status CheckExistingUserName(const std::string& name) {
  if (IsValidUserName(name, 128)) return Status::OK();
  return Status(StatusCode::kInvalidArgument,
                "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 128",
                "ValidationError");
}

}  // namespace

bool IsValidUserName(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  for (char c : name) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("+=,.@_-").find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string Identity::Arn() const {
  return root_ ? "arn:aws:iam::" + account_id_ + ":root" : "arn:aws:iam::" + account_id_ + ":user/" + user_name_;
}

IdentityStore::IdentityStore(std::unique_ptr<store::LmdbEnv> env, const os::Clock& clock)
    : env_(std::move(env)), clock_(clock) {}

Result<std::unique_ptr<IdentityStore>> IdentityStore::Open(const std::string& dir, const os::Clock& clock) {
  store::LmdbEnv::Options options;
  options.map_size = size_t{1} << 30;
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir, options));
  std::unique_ptr<IdentityStore> s(new IdentityStore(std::move(env), clock));
  ANNEX_RETURN_IF_ERROR(s->Init());
  return s;
}

Status IdentityStore::Init() {
  ANNEX_ASSIGN_OR_RETURN(accounts_, env_->OpenTable("accounts"));
  ANNEX_ASSIGN_OR_RETURN(account_names_, env_->OpenTable("account_names"));
  ANNEX_ASSIGN_OR_RETURN(users_, env_->OpenTable("users"));
  ANNEX_ASSIGN_OR_RETURN(keys_, env_->OpenTable("access_keys"));
  ANNEX_ASSIGN_OR_RETURN(groups_, env_->OpenTable("groups"));
  ANNEX_ASSIGN_OR_RETURN(members_, env_->OpenTable("group_members"));
  ANNEX_ASSIGN_OR_RETURN(user_groups_, env_->OpenTable("user_groups"));
  ANNEX_ASSIGN_OR_RETURN(roles_, env_->OpenTable("roles"));
  ANNEX_ASSIGN_OR_RETURN(sessions_, env_->OpenTable("sessions"));
  ANNEX_ASSIGN_OR_RETURN(session_expiry_, env_->OpenTable("session_expiry"));
  return Status::OK();
}

void IdentityStore::Invalidate(const std::string& access_key_id) {
  std::unique_lock lock(cache_mu_);
  cache_.erase(access_key_id);
  ++cache_generation_;
}

std::optional<auth::Credential> IdentityStore::Find(std::string_view access_key_id) const {
  uint64_t generation;
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(access_key_id);
    if (it != cache_.end()) return it->second;
    generation = cache_generation_;
  }
  auto txn = env_->BeginRead();
  if (!txn.ok()) return std::nullopt;
  std::optional<auth::Credential> found =
      access_key_id.starts_with("ASIA") ? FindSession(*txn, access_key_id) : FindLongTermKey(*txn, access_key_id);
  if (!found) return std::nullopt;
  auth::Credential& c = *found;
  auto acct_raw = txn->Get(accounts_, c.principal.account_id);
  if (!acct_raw.ok() || !acct_raw->has_value()) return std::nullopt;
  auto account = DecodeAccount(**acct_raw);
  if (!account.ok()) return std::nullopt;
  c.principal.account_name = account->name;
  if (c.principal.is_root()) {
    c.principal.arn = "arn:aws:iam::" + c.principal.account_id + ":root";
    c.principal.user_id = c.principal.account_id;  // aws:userid of a root
  } else if (c.principal.is_user()) {
    auto user_raw = txn->Get(users_, UserKey(c.principal.account_id, c.principal.user_name));
    if (!user_raw.ok() || !user_raw->has_value()) return std::nullopt;  // a key outliving its user signs nothing
    auto user = DecodeUser(**user_raw);
    if (!user.ok()) return std::nullopt;
    c.principal.arn = user->arn;
    c.principal.user_id = user->user_id;
  }
  std::unique_lock lock(cache_mu_);
  if (generation == cache_generation_) {
    if (cache_.size() > 10000) cache_.clear();  // bounded; unknown keys are never cached
    cache_.emplace(c.access_key_id, c);
  }
  return c;
}

std::optional<auth::Credential> IdentityStore::FindLongTermKey(const store::ReadTxn& txn,
                                                               std::string_view access_key_id) const {
  auto raw = txn.Get(keys_, access_key_id);
  if (!raw.ok() || !raw->has_value()) return std::nullopt;
  auto key = DecodeKey(**raw);
  if (!key.ok() || !key->active) return std::nullopt;
  auth::Credential c;
  c.access_key_id = key->access_key_id;
  c.secret_access_key = key->secret_access_key;
  c.principal.anonymous = false;
  c.principal.account_id = key->account_id;
  c.principal.user_name = key->user_name;
  c.principal.access_key_id = key->access_key_id;
  return c;
}

Result<AccessKey> IdentityStore::NewKeyLocked(store::WriteTxn& txn, const std::string& account_id,
                                              const std::string& user_name) {
  AccessKey k;
  k.access_key_id = "AKIA" + os::RandomString(16, internal::kIdAlphabet);
  k.secret_access_key = os::RandomString(40, kSecretAlphabet);
  k.account_id = account_id;
  k.user_name = user_name;
  k.created = clock_.Now();
  ANNEX_RETURN_IF_ERROR(txn.Put(keys_, k.access_key_id, EncodeKey(k)));
  return k;
}

Result<std::pair<Account, AccessKey>> IdentityStore::CreateAccount(const std::string& name) {
  if (!IsValidUserName(name)) {
    return Status(StatusCode::kInvalidArgument, "account name must be 1-64 of [A-Za-z0-9+=,.@_-]", "ValidationError");
  }
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(account_names_, name));
  if (existing) {
    return Status(StatusCode::kAlreadyExists, "account " + name + " already exists", "EntityAlreadyExists");
  }
  Account a;
  do {
    a.id = NewAccountId();
    ANNEX_ASSIGN_OR_RETURN(auto taken, txn.Get(accounts_, a.id));
    if (!taken) break;
  } while (true);
  a.name = name;
  a.created = clock_.Now();
  ANNEX_RETURN_IF_ERROR(txn.Put(accounts_, a.id, EncodeAccount(a)));
  ANNEX_RETURN_IF_ERROR(txn.Put(account_names_, name, a.id));
  ANNEX_ASSIGN_OR_RETURN(AccessKey key, NewKeyLocked(txn, a.id, ""));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return std::make_pair(a, key);
}

Result<Account> IdentityStore::GetAccount(const std::string& account_id) const {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(accounts_, account_id));
  if (!raw) return Status::NotFound("no account " + account_id);
  return DecodeAccount(*raw);
}

Result<Account> IdentityStore::FindAccountByName(const std::string& name) const {
  std::string id;
  {
    ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(account_names_, name));
    if (!raw) return Status::NotFound("no account named " + name);
    id = std::string(*raw);
  }
  return GetAccount(id);
}

Result<std::vector<Account>> IdentityStore::ListAccounts() const {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(accounts_));
  std::vector<Account> out;
  ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
  while (cursor.Valid()) {
    ANNEX_ASSIGN_OR_RETURN(Account a, DecodeAccount(cursor.value()));
    out.push_back(std::move(a));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Status IdentityStore::ImportRootKey(const std::string& account_id, const std::string& access_key_id,
                                    const std::string& secret) {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(keys_, access_key_id));
  if (raw) {
    ANNEX_ASSIGN_OR_RETURN(AccessKey existing, DecodeKey(*raw));
    if (existing.account_id != account_id || !existing.user_name.empty()) {
      return Status::AlreadyExists("access key " + access_key_id + " belongs to another identity");
    }
    if (existing.secret_access_key == secret && existing.active) return Status::OK();
  }
  AccessKey k{access_key_id, secret, account_id, "", true, clock_.Now()};
  ANNEX_RETURN_IF_ERROR(txn.Put(keys_, access_key_id, EncodeKey(k)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Invalidate(access_key_id);
  return Status::OK();
}

Result<User> IdentityStore::CreateUser(const std::string& account_id, const std::string& user_name) {
  if (!IsValidUserName(user_name)) {
    return Status(StatusCode::kInvalidArgument,
                  "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must "
                  "satisfy regular expression pattern: [\\w+=,.@-]+",
                  "ValidationError");
  }
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  std::string key = UserKey(account_id, user_name);
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(users_, key));
  if (existing) {
    return Status(StatusCode::kAlreadyExists, "User with name " + user_name + " already exists.",
                  "EntityAlreadyExists");
  }
  User u{account_id, user_name, "AIDA" + os::RandomString(17, internal::kIdAlphabet),
         "arn:aws:iam::" + account_id + ":user/" + user_name, clock_.Now()};
  ANNEX_RETURN_IF_ERROR(txn.Put(users_, key, EncodeUser(u)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return u;
}

Result<User> IdentityStore::GetUser(const std::string& account_id, const std::string& user_name) const {
  ANNEX_RETURN_IF_ERROR(CheckExistingUserName(user_name));
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(users_, UserKey(account_id, user_name)));
  if (!raw) return NoSuchUser(user_name);
  return DecodeUser(*raw);
}

Result<std::vector<User>> IdentityStore::ListUsers(const std::string& account_id) const {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  return internal::DecodeAll<User>(txn, users_, UserKey(account_id, ""), DecodeUser);
}

Status IdentityStore::DeleteUser(const std::string& account_id, const std::string& user_name) {
  ANNEX_ASSIGN_OR_RETURN(auto keys, ListAccessKeys(Identity::User(account_id, user_name)));
  if (!keys.empty()) {
    return Status(StatusCode::kFailedPrecondition, "Cannot delete entity, must delete access keys first.",
                  "DeleteConflict");
  }
  ANNEX_ASSIGN_OR_RETURN(auto groups, ListGroupsForUser(account_id, user_name));
  if (!groups.empty()) {
    return Status(StatusCode::kFailedPrecondition, "Cannot delete entity, must remove user from all groups first.",
                  "DeleteConflict");
  }
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  Status s = txn.Delete(users_, UserKey(account_id, user_name));
  if (s.IsNotFound()) return NoSuchUser(user_name);
  ANNEX_RETURN_IF_ERROR(s);
  return txn.Commit();
}

Status IdentityStore::CheckOwner(const Identity& owner) const {
  if (!owner.is_root()) return GetUser(owner.account_id(), owner.user_name()).status();
  Status account = GetAccount(owner.account_id()).status();
  if (account.IsNotFound()) return Status(StatusCode::kNotFound, account.message(), "NoSuchEntity");
  return account;
}

Result<AccessKey> IdentityStore::CreateAccessKey(const Identity& owner) {
  ANNEX_ASSIGN_OR_RETURN(auto existing, ListAccessKeys(owner));
  if (existing.size() >= kMaxKeysPerUser) {
    return Status(StatusCode::kResourceExhausted, "Cannot exceed quota for AccessKeysPerUser: 2", "LimitExceeded");
  }
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(AccessKey key, NewKeyLocked(txn, owner.account_id(), owner.user_name()));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return key;
}

Result<std::vector<AccessKey>> IdentityStore::ListAccessKeys(const Identity& owner) const {
  ANNEX_RETURN_IF_ERROR(CheckOwner(owner));
  // Keys are indexed by id only; an account has few keys, so a scan is fine.
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(keys_));
  std::vector<AccessKey> out;
  ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
  while (cursor.Valid()) {
    ANNEX_ASSIGN_OR_RETURN(AccessKey k, DecodeKey(cursor.value()));
    if (k.account_id == owner.account_id() && k.user_name == owner.user_name()) out.push_back(std::move(k));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<AccessKey> IdentityStore::OwnKey(const store::ReadTxn& txn, const Identity& owner,
                                        const std::string& access_key_id) const {
  Status missing(StatusCode::kNotFound, "The Access Key with id " + access_key_id + " cannot be found.",
                 "NoSuchEntity");
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(keys_, access_key_id));
  if (!raw) return missing;
  ANNEX_ASSIGN_OR_RETURN(AccessKey k, DecodeKey(*raw));
  // Another identity's key reads as absent: ids must not leak across accounts.
  if (k.account_id != owner.account_id() || k.user_name != owner.user_name()) return missing;
  return k;
}

Status IdentityStore::DeleteAccessKey(const Identity& owner, const std::string& access_key_id) {
  ANNEX_RETURN_IF_ERROR(CheckOwner(owner));
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(OwnKey(txn, owner, access_key_id).status());
  ANNEX_RETURN_IF_ERROR(txn.Delete(keys_, access_key_id));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Invalidate(access_key_id);
  return Status::OK();
}

Status IdentityStore::SetAccessKeyActive(const Identity& owner, const std::string& access_key_id, bool active) {
  ANNEX_RETURN_IF_ERROR(CheckOwner(owner));
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(AccessKey k, OwnKey(txn, owner, access_key_id));
  k.active = active;
  ANNEX_RETURN_IF_ERROR(txn.Put(keys_, access_key_id, EncodeKey(k)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Invalidate(access_key_id);
  return Status::OK();
}

}  // namespace annex::iam
