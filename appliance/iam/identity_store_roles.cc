// IdentityStore: roles and the temporary credentials of sessions.

#include "appliance/core/strings.h"
#include "appliance/iam/identity_keys.h"
#include "appliance/iam/identity_store.h"
#include "appliance/os/random.h"
#include "appliance/policy/policy.h"
#include "appliance/store/record.h"

namespace annex::iam {
namespace {

using internal::JoinKey;
constexpr uint8_t kVersion = 1;
constexpr std::string_view kSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Expired sessions removed per new session: bounded work on the write path.
constexpr int kSweepBatch = 16;

store::RecordWriter& WriteTags(store::RecordWriter& w, const std::vector<std::pair<std::string, std::string>>& tags) {
  w.U64(tags.size());
  for (const auto& [k, v] : tags) w.Bytes(k).Bytes(v);
  return w;
}

Status ReadTags(store::RecordReader& r, std::vector<std::pair<std::string, std::string>>& tags) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(std::string v, r.Bytes());
    tags.emplace_back(std::move(k), std::move(v));
  }
  return Status::OK();
}

std::string EncodeRole(const Role& role) {
  store::RecordWriter w(kVersion);
  w.Bytes(role.account_id).Bytes(role.name).Bytes(role.path).Bytes(role.role_id).Bytes(role.arn)
      .Bytes(role.trust_policy).Bytes(role.description).U64(static_cast<uint64_t>(role.max_session_seconds))
      .I64(os::ToUnixMillis(role.created));
  return WriteTags(w, role.tags).Finish();
}

Result<Role> DecodeRole(std::string_view data) {
  store::RecordReader r(data);
  Role role;
  ANNEX_ASSIGN_OR_RETURN(role.account_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(role.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(role.path, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(role.role_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(role.arn, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(role.trust_policy, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(role.description, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(uint64_t max_seconds, r.U64());
  role.max_session_seconds = static_cast<int>(max_seconds);
  ANNEX_ASSIGN_OR_RETURN(int64_t ms, r.I64());
  role.created = os::FromUnixMillis(ms);
  ANNEX_RETURN_IF_ERROR(ReadTags(r, role.tags));
  return role;
}

Status NoSuchRole(const std::string& name) {
  return Status(StatusCode::kNotFound, "The role with name " + name + " cannot be found.", "NoSuchEntity");
}

// A session as stored: the key, who it is for, and how it is narrowed.
struct SessionRecord {
  TemporaryCredentials credentials;
  std::string account_id;
  std::string user_name;  // GetSessionToken of a user
  std::string role_name, role_arn, role_id, session_name;
  std::vector<std::string> policies;
  std::vector<std::pair<std::string, std::string>> tags;
};

std::string EncodeSession(const SessionRecord& s) {
  store::RecordWriter w(kVersion);
  w.Bytes(s.credentials.access_key_id).Bytes(s.credentials.secret_access_key).Bytes(s.credentials.session_token)
      .I64(os::ToUnixMillis(s.credentials.expiration)).Bytes(s.account_id).Bytes(s.user_name).Bytes(s.role_name)
      .Bytes(s.role_arn).Bytes(s.role_id).Bytes(s.session_name).U64(s.policies.size());
  for (const std::string& p : s.policies) w.Bytes(p);
  return WriteTags(w, s.tags).Finish();
}

Result<SessionRecord> DecodeSession(std::string_view data) {
  store::RecordReader r(data);
  SessionRecord s;
  ANNEX_ASSIGN_OR_RETURN(s.credentials.access_key_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.credentials.secret_access_key, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.credentials.session_token, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(int64_t ms, r.I64());
  s.credentials.expiration = os::FromUnixMillis(ms);
  ANNEX_ASSIGN_OR_RETURN(s.account_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.user_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.role_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.role_arn, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.role_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.session_name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string p, r.Bytes());
    s.policies.push_back(std::move(p));
  }
  ANNEX_RETURN_IF_ERROR(ReadTags(r, s.tags));
  return s;
}

// Expiry index keys sort by time: 8 big-endian bytes of milliseconds, then the key id.
std::string ExpiryKey(os::SystemTime expiration, std::string_view access_key_id) {
  uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, os::ToUnixMillis(expiration)));
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, ms >>= 8) k[i] = static_cast<char>(ms & 0xff);
  k.append(access_key_id);
  return k;
}

}  // namespace

bool IsValidRoleName(std::string_view name) { return IsValidUserName(name, 64); }

Result<Role> IdentityStore::CreateRole(Role role) {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  std::string key = JoinKey({role.account_id, role.name});
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(roles_, key));
  if (existing) {
    return Status(StatusCode::kAlreadyExists, "Role with name " + role.name + " already exists.",
                  "EntityAlreadyExists");
  }
  if (role.path.empty()) role.path = "/";
  role.role_id = "AROA" + os::RandomString(17, internal::kIdAlphabet);
  role.arn = "arn:aws:iam::" + role.account_id + ":role" + role.path + role.name;
  role.created = clock_.Now();
  ANNEX_RETURN_IF_ERROR(txn.Put(roles_, key, EncodeRole(role)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return role;
}

Result<Role> IdentityStore::GetRole(const std::string& account_id, const std::string& name) const {
  if (!IsValidRoleName(name)) return NoSuchRole(name);
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(roles_, JoinKey({account_id, name})));
  if (!raw) return NoSuchRole(name);
  return DecodeRole(*raw);
}

Result<std::vector<Role>> IdentityStore::ListRoles(const std::string& account_id) const {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  return internal::DecodeAll<Role>(txn, roles_, JoinKey({account_id, ""}), DecodeRole);
}

Status IdentityStore::UpdateRole(const Role& role) {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  std::string key = JoinKey({role.account_id, role.name});
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(roles_, key));
  if (!existing) return NoSuchRole(role.name);
  ANNEX_RETURN_IF_ERROR(txn.Put(roles_, key, EncodeRole(role)));
  return txn.Commit();
}

Status IdentityStore::DeleteRole(const std::string& account_id, const std::string& name) {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  Status s = txn.Delete(roles_, JoinKey({account_id, name}));
  if (s.IsNotFound()) return NoSuchRole(name);
  ANNEX_RETURN_IF_ERROR(s);
  return txn.Commit();
}

Status IdentityStore::SweepExpiredSessions(store::WriteTxn& txn) {
  std::string now = ExpiryKey(clock_.Now(), "");
  std::vector<std::string> expired;
  {
    ANNEX_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(session_expiry_));
    ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
    while (cursor.Valid() && cursor.key() < now && expired.size() < kSweepBatch) {
      expired.emplace_back(cursor.key());
      ANNEX_RETURN_IF_ERROR(cursor.Next());
    }
  }
  for (const std::string& k : expired) {
    ANNEX_RETURN_IF_ERROR(txn.Delete(session_expiry_, k));
    Status s = txn.Delete(sessions_, std::string_view(k).substr(8));
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::OK();
}

Result<TemporaryCredentials> IdentityStore::CreateSession(const SessionSpec& spec) {
  SessionRecord s;
  s.credentials.access_key_id = "ASIA" + os::RandomString(16, internal::kIdAlphabet);
  s.credentials.secret_access_key = os::RandomString(40, kSecretAlphabet);
  // Long and random, as AWS's: it is the session's bearer proof beside the signature.
  s.credentials.session_token = os::RandomString(256, kSecretAlphabet);
  s.credentials.expiration = clock_.Now() + spec.duration;
  s.account_id = spec.account_id;
  s.user_name = spec.user_name;
  if (spec.role) {
    s.role_name = spec.role->name;
    s.role_arn = spec.role->arn;
    s.role_id = spec.role->role_id;
    s.session_name = spec.session_name;
  }
  s.policies = spec.policies;
  s.tags = spec.tags;
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(SweepExpiredSessions(txn));
  ANNEX_RETURN_IF_ERROR(txn.Put(sessions_, s.credentials.access_key_id, EncodeSession(s)));
  ANNEX_RETURN_IF_ERROR(
      txn.Put(session_expiry_, ExpiryKey(s.credentials.expiration, s.credentials.access_key_id), ""));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return s.credentials;
}

std::optional<auth::Credential> IdentityStore::FindSession(const store::ReadTxn& txn,
                                                           std::string_view access_key_id) const {
  auto raw = txn.Get(sessions_, access_key_id);
  if (!raw.ok() || !raw->has_value()) return std::nullopt;
  auto record = DecodeSession(**raw);
  if (!record.ok()) return std::nullopt;

  auto session = std::make_shared<auth::Session>();
  session->token = record->credentials.session_token;
  session->expiration = record->credentials.expiration;
  session->tags = record->tags;
  if (!record->policies.empty()) {
    auto compiled = std::make_shared<std::vector<policy::Policy>>();
    for (const std::string& document : record->policies) {
      auto parsed = policy::ParsePolicy(document, policy::PolicyKind::kIdentity);
      if (!parsed.ok()) return std::nullopt;  // validated when stored; a session that cannot be narrowed signs nothing
      compiled->push_back(std::move(*parsed));
    }
    session->policies = std::move(compiled);
  }

  auth::Credential c;
  c.access_key_id = record->credentials.access_key_id;
  c.secret_access_key = record->credentials.secret_access_key;
  auth::Principal& p = c.principal;
  p.anonymous = false;
  p.account_id = record->account_id;
  p.access_key_id = c.access_key_id;
  p.session = std::move(session);
  p.user_name = record->user_name;
  if (!record->role_name.empty()) {
    p.role_name = record->role_name;
    p.role_arn = record->role_arn;
    p.session_name = record->session_name;
    p.arn = "arn:aws:sts::" + record->account_id + ":assumed-role/" + record->role_name + "/" + record->session_name;
    p.user_id = record->role_id + ":" + record->session_name;
  }
  return c;
}

}  // namespace annex::iam
