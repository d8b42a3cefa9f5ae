#include "appliance/iam/policy_store.h"

#include <algorithm>

#include "appliance/crypto/hash.h"
#include "appliance/iam/aws_managed_policies.h"
#include "appliance/iam/identity_store.h"
#include "appliance/store/record.h"

namespace annex::iam {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kMaxVersions = 5;
constexpr size_t kMaxAttached = 10;
// IAM's aggregate limits for inline policies, by entity type, in characters.
constexpr size_t kUserInlineMaxChars = 2048;
constexpr size_t kGroupInlineMaxChars = 5120;
constexpr size_t kRoleInlineMaxChars = 10240;

Status NoSuchEntity(std::string message) { return Status(StatusCode::kNotFound, std::move(message), "NoSuchEntity"); }
Status Conflict(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message), "DeleteConflict");
}
Status InvalidInput(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "InvalidInput");
}
Status Limit(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message), "LimitExceeded");
}

using os::FromUnixMillis;
using os::ToUnixMillis;

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    out.append(p);
    out.push_back('\0');
  }
  out.pop_back();
  return out;
}

std::string EntityPrefix(const std::string& account, EntityType type, const std::string& entity) {
  return Join({account, EntityTypeName(type), entity}) + std::string(1, '\0');
}

// IAM's policyNameType is userNameType's pattern, up to 128 characters.
bool ValidName(std::string_view name) { return IsValidUserName(name, 128); }

bool ValidPath(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() != '/' || path.back() != '/') return false;
  return std::all_of(path.begin(), path.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// ANPA + 17 characters derived from the ARN: stable, and unlike any other's.
std::string PolicyId(std::string_view arn) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string digest = crypto::Sha256Hex(arn);  // 64 hex digits: 17 draws of 3 each
  std::string id = "ANPA";
  for (size_t i = 0; i < 17; ++i) id.push_back(kAlphabet[std::stoul(digest.substr(i * 3, 3), nullptr, 16) % 32]);
  return id;
}

// A stored customer managed policy: its description and every version.
struct Stored {
  ManagedPolicy meta;
  std::vector<PolicyVersion> versions;
  uint64_t next_version = 2;
};

std::string Encode(const Stored& s) {
  store::RecordWriter w(kVersion);
  w.Bytes(s.meta.arn).Bytes(s.meta.id).Bytes(s.meta.name).Bytes(s.meta.path).Bytes(s.meta.description);
  w.Bytes(s.meta.default_version).I64(ToUnixMillis(s.meta.created)).I64(ToUnixMillis(s.meta.updated)).U64(s.next_version);
  w.U64(s.versions.size());
  for (const auto& v : s.versions) w.Bytes(v.version_id).Bytes(v.document).I64(ToUnixMillis(v.created));
  return w.Finish();
}

Result<Stored> Decode(std::string_view data) {
  store::RecordReader r(data);
  Stored s;
  ANNEX_ASSIGN_OR_RETURN(s.meta.arn, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.meta.id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.meta.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.meta.path, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.meta.description, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.meta.default_version, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(int64_t created, r.I64());
  ANNEX_ASSIGN_OR_RETURN(int64_t updated, r.I64());
  s.meta.created = FromUnixMillis(created);
  s.meta.updated = FromUnixMillis(updated);
  ANNEX_ASSIGN_OR_RETURN(s.next_version, r.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  if (n > kMaxVersions) return Status::Corruption("policy record with too many versions");
  for (uint64_t i = 0; i < n; ++i) {
    PolicyVersion v;
    ANNEX_ASSIGN_OR_RETURN(v.version_id, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(v.document, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(int64_t at, r.I64());
    v.created = FromUnixMillis(at);
    v.is_default = v.version_id == s.meta.default_version;
    s.versions.push_back(std::move(v));
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return s;
}

ManagedPolicy FromAws(const AwsManagedPolicy& p) {
  ManagedPolicy m;
  m.arn = AwsManagedPolicyArn(p);
  m.id = PolicyId(m.arn);
  m.name = std::string(p.name);
  m.path = std::string(p.path);
  m.description = std::string(p.description);
  m.aws_managed = true;
  m.created = m.updated = FromUnixMillis(1423526400000);  // 2015-02-10, when AWS published them
  return m;
}

// A customer policy's ARN → (account, name); a name needs the account to match.
struct ArnParts {
  std::string account, path, name;
};
std::optional<ArnParts> ParseArn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (!arn.starts_with(kPrefix)) return std::nullopt;
  arn.remove_prefix(kPrefix.size());
  size_t colon = arn.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  ArnParts parts{std::string(arn.substr(0, colon)), "", ""};
  std::string_view rest = arn.substr(colon + 1);
  if (!rest.starts_with("policy/")) return std::nullopt;
  rest.remove_prefix(6);  // keep the leading '/'
  size_t slash = rest.rfind('/');
  parts.path = std::string(rest.substr(0, slash + 1));
  parts.name = std::string(rest.substr(slash + 1));
  if (parts.name.empty()) return std::nullopt;
  return parts;
}

size_t InlineLimit(EntityType type) {
  switch (type) {
    case EntityType::kUser: return kUserInlineMaxChars;
    case EntityType::kGroup: return kGroupInlineMaxChars;
    case EntityType::kRole: return kRoleInlineMaxChars;
  }
  return kUserInlineMaxChars;
}

}  // namespace

std::string_view EntityTypeName(EntityType type) {
  switch (type) {
    case EntityType::kUser: return "User";
    case EntityType::kGroup: return "Group";
    case EntityType::kRole: return "Role";
  }
  return "User";
}

Result<std::unique_ptr<PolicyStore>> PolicyStore::Open(const std::string& dir, const os::Clock& clock) {
  store::LmdbEnv::Options options;
  options.map_size = size_t{1} << 30;
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir, options));
  std::unique_ptr<PolicyStore> s(new PolicyStore(std::move(env), clock));
  ANNEX_RETURN_IF_ERROR(s->Init());
  return s;
}

Status PolicyStore::Init() {
  ANNEX_ASSIGN_OR_RETURN(policies_, env_->OpenTable("policies"));
  ANNEX_ASSIGN_OR_RETURN(attachments_, env_->OpenTable("attachments"));
  ANNEX_ASSIGN_OR_RETURN(inline_, env_->OpenTable("inline"));
  ANNEX_ASSIGN_OR_RETURN(boundaries_, env_->OpenTable("boundaries"));
  return Status::OK();
}

void PolicyStore::Changed() {
  std::unique_lock lock(cache_mu_);
  cache_.clear();
  ++generation_;
}

namespace {

// The stored customer policy an ARN names within `account`, or NoSuchEntity.
Result<Stored> LoadCustomer(const store::ReadTxn& txn, store::Table table, const std::string& account,
                            const std::string& arn) {
  auto parts = ParseArn(arn);
  if (!parts || parts->account != account) return NoSuchEntity("Policy " + arn + " does not exist or is not attachable.");
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table, Join({account, parts->name})));
  if (!value) return NoSuchEntity("Policy " + arn + " does not exist or is not attachable.");
  ANNEX_ASSIGN_OR_RETURN(Stored s, Decode(*value));
  if (s.meta.arn != arn) return NoSuchEntity("Policy " + arn + " does not exist or is not attachable.");
  return s;
}

// Attachment keys of the account whose ARN is `arn`, and their entities.
Result<std::vector<std::pair<std::string, std::pair<EntityType, std::string>>>> AttachmentsOf(
    const store::ReadTxn& txn, store::Table table, const std::string& account, const std::string& arn) {
  std::vector<std::pair<std::string, std::pair<EntityType, std::string>>> out;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table));
  std::string prefix = account + std::string(1, '\0');
  Status scan = c.Seek(prefix);
  for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
    std::string_view key = c.key().substr(prefix.size());
    size_t a = key.find('\0'), b = key.find('\0', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos) continue;
    if (key.substr(b + 1) != arn) continue;
    std::string_view type = key.substr(0, a);
    EntityType t = type == "Group" ? EntityType::kGroup : type == "Role" ? EntityType::kRole : EntityType::kUser;
    out.push_back({std::string(c.key()), {t, std::string(key.substr(a + 1, b - a - 1))}});
  }
  ANNEX_RETURN_IF_ERROR(scan);
  return out;
}

// How many entities of the account have `arn` as their permissions boundary.
Result<uint64_t> BoundaryUses(const store::ReadTxn& txn, store::Table table, const std::string& account,
                              const std::string& arn) {
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table));
  std::string prefix = account + std::string(1, '\0');
  uint64_t uses = 0;
  Status scan = c.Seek(prefix);
  for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) uses += c.value() == arn;
  ANNEX_RETURN_IF_ERROR(scan);
  return uses;
}

}  // namespace

Result<ManagedPolicy> PolicyStore::CreatePolicy(const std::string& account, const std::string& name,
                                                const std::string& path, const std::string& description,
                                                const std::string& document) {
  if (!ValidName(name)) return InvalidInput("The specified value for policyName is invalid.");
  std::string p = path.empty() ? "/" : path;
  if (!ValidPath(p)) return InvalidInput("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.");
  if (description.size() > 1000) return InvalidInput("The specified value for description is too long.");
  ANNEX_RETURN_IF_ERROR(policy::ParsePolicy(document, policy::PolicyKind::kIdentity, policy::kManagedPolicyMaxChars).status());
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  std::string key = Join({account, name});
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(policies_, key));
  if (existing) {
    return Status(StatusCode::kAlreadyExists, "A policy called " + name + " already exists. Duplicate names are not allowed.",
                  "EntityAlreadyExists");
  }
  Stored s;
  s.meta.arn = "arn:aws:iam::" + account + ":policy" + p + name;
  s.meta.id = PolicyId(s.meta.arn);
  s.meta.name = name;
  s.meta.path = p;
  s.meta.description = description;
  s.meta.created = s.meta.updated = clock_.Now();
  s.versions.push_back(PolicyVersion{"v1", document, true, s.meta.created});
  ANNEX_RETURN_IF_ERROR(txn.Put(policies_, key, Encode(s)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return s.meta;
}

Result<ManagedPolicy> PolicyStore::GetPolicy(const std::string& account, const std::string& arn) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ManagedPolicy meta;
  if (const AwsManagedPolicy* aws = FindAwsManagedPolicy(arn)) {
    meta = FromAws(*aws);
  } else {
    ANNEX_ASSIGN_OR_RETURN(Stored s, LoadCustomer(txn, policies_, account, arn));
    meta = s.meta;
  }
  ANNEX_ASSIGN_OR_RETURN(auto attached, AttachmentsOf(txn, attachments_, account, arn));
  meta.attachment_count = attached.size();
  ANNEX_ASSIGN_OR_RETURN(meta.boundary_count, BoundaryUses(txn, boundaries_, account, arn));
  return meta;
}

Result<std::vector<ManagedPolicy>> PolicyStore::ListPolicies(const std::string& account, PolicyScope scope,
                                                             bool only_attached) const {
  std::vector<ManagedPolicy> out;
  if (scope != PolicyScope::kLocal) {
    for (const auto& p : AwsManagedPolicies()) out.push_back(FromAws(p));
  }
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  if (scope != PolicyScope::kAws) {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(policies_));
    std::string prefix = account + std::string(1, '\0');
    Status scan = c.Seek(prefix);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(Stored s, Decode(c.value()));
      out.push_back(std::move(s.meta));
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }
  std::vector<ManagedPolicy> kept;
  for (auto& m : out) {
    ANNEX_ASSIGN_OR_RETURN(auto attached, AttachmentsOf(txn, attachments_, account, m.arn));
    m.attachment_count = attached.size();
    if (!only_attached || m.attachment_count > 0) kept.push_back(std::move(m));
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return kept;
}

Status PolicyStore::DeletePolicy(const std::string& account, const std::string& arn) {
  if (FindAwsManagedPolicy(arn)) return InvalidInput("AWS managed policies cannot be deleted.");
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(Stored s, LoadCustomer(txn, policies_, account, arn));
  ANNEX_ASSIGN_OR_RETURN(auto attached, AttachmentsOf(txn, attachments_, account, arn));
  ANNEX_ASSIGN_OR_RETURN(uint64_t boundary_uses, BoundaryUses(txn, boundaries_, account, arn));
  if (!attached.empty() || boundary_uses > 0) return Conflict("Cannot delete a policy attached to entities.");
  if (s.versions.size() > 1) return Conflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
  ANNEX_RETURN_IF_ERROR(txn.Delete(policies_, Join({account, s.meta.name})));
  return txn.Commit();
}

Result<PolicyVersion> PolicyStore::CreatePolicyVersion(const std::string& account, const std::string& arn,
                                                       const std::string& document, bool set_as_default) {
  if (FindAwsManagedPolicy(arn)) return InvalidInput("AWS managed policies cannot be changed.");
  ANNEX_RETURN_IF_ERROR(policy::ParsePolicy(document, policy::PolicyKind::kIdentity, policy::kManagedPolicyMaxChars).status());
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(Stored s, LoadCustomer(txn, policies_, account, arn));
  if (s.versions.size() >= kMaxVersions) {
    return Limit("A managed policy can have up to " + std::to_string(kMaxVersions) +
                 " versions. Before you create a new version, you must delete an existing version.");
  }
  PolicyVersion v{"v" + std::to_string(s.next_version++), document, set_as_default, clock_.Now()};
  s.versions.push_back(v);
  if (set_as_default) s.meta.default_version = v.version_id;
  s.meta.updated = v.created;
  ANNEX_RETURN_IF_ERROR(txn.Put(policies_, Join({account, s.meta.name}), Encode(s)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  if (set_as_default) Changed();
  return v;
}

Result<PolicyVersion> PolicyStore::GetPolicyVersion(const std::string& account, const std::string& arn,
                                                    const std::string& version_id) const {
  ANNEX_ASSIGN_OR_RETURN(auto versions, ListPolicyVersions(account, arn));
  for (auto& v : versions) {
    if (v.version_id == version_id) return std::move(v);
  }
  return NoSuchEntity("Policy " + arn + " version " + version_id + " does not exist or is not attachable.");
}

Result<std::vector<PolicyVersion>> PolicyStore::ListPolicyVersions(const std::string& account,
                                                                   const std::string& arn) const {
  if (const AwsManagedPolicy* aws = FindAwsManagedPolicy(arn)) {
    ManagedPolicy m = FromAws(*aws);
    return std::vector<PolicyVersion>{PolicyVersion{"v1", std::string(aws->document), true, m.created}};
  }
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(Stored s, LoadCustomer(txn, policies_, account, arn));
  return std::move(s.versions);
}

Status PolicyStore::DeletePolicyVersion(const std::string& account, const std::string& arn,
                                        const std::string& version_id) {
  if (FindAwsManagedPolicy(arn)) return InvalidInput("AWS managed policies cannot be changed.");
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(Stored s, LoadCustomer(txn, policies_, account, arn));
  auto it = std::find_if(s.versions.begin(), s.versions.end(), [&](const auto& v) { return v.version_id == version_id; });
  if (it == s.versions.end()) return NoSuchEntity("Policy " + arn + " version " + version_id + " does not exist.");
  if (it->version_id == s.meta.default_version) return Conflict("Cannot delete the default version of a policy.");
  s.versions.erase(it);
  ANNEX_RETURN_IF_ERROR(txn.Put(policies_, Join({account, s.meta.name}), Encode(s)));
  return txn.Commit();
}

Status PolicyStore::SetDefaultPolicyVersion(const std::string& account, const std::string& arn,
                                            const std::string& version_id) {
  if (FindAwsManagedPolicy(arn)) return InvalidInput("AWS managed policies cannot be changed.");
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(Stored s, LoadCustomer(txn, policies_, account, arn));
  bool found = std::any_of(s.versions.begin(), s.versions.end(), [&](const auto& v) { return v.version_id == version_id; });
  if (!found) return NoSuchEntity("Policy " + arn + " version " + version_id + " does not exist.");
  s.meta.default_version = version_id;
  s.meta.updated = clock_.Now();
  ANNEX_RETURN_IF_ERROR(txn.Put(policies_, Join({account, s.meta.name}), Encode(s)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Status PolicyStore::AttachPolicy(const std::string& account, EntityType type, const std::string& entity,
                                 const std::string& arn) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  if (!FindAwsManagedPolicy(arn)) ANNEX_RETURN_IF_ERROR(LoadCustomer(txn, policies_, account, arn).status());
  std::string prefix = EntityPrefix(account, type, entity);
  std::string key = prefix + arn;
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(attachments_, key));
  if (existing) return Status::OK();  // attaching twice is a no-op in IAM
  size_t count = 0;
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(attachments_));
    Status scan = c.Seek(prefix);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) ++count;
    ANNEX_RETURN_IF_ERROR(scan);
  }
  if (count >= kMaxAttached) {
    return Limit("Cannot exceed quota for PoliciesPerUser: " + std::to_string(kMaxAttached));
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(attachments_, key, ""));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Status PolicyStore::DetachPolicy(const std::string& account, EntityType type, const std::string& entity,
                                 const std::string& arn) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  std::string key = EntityPrefix(account, type, entity) + arn;
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(attachments_, key));
  if (!existing) return NoSuchEntity("Policy " + arn + " was not found.");
  ANNEX_RETURN_IF_ERROR(txn.Delete(attachments_, key));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Result<std::vector<ManagedPolicy>> PolicyStore::ListAttachedPolicies(const std::string& account, EntityType type,
                                                                     const std::string& entity) const {
  std::vector<std::string> arns;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(attachments_));
    std::string prefix = EntityPrefix(account, type, entity);
    Status scan = c.Seek(prefix);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      arns.emplace_back(c.key().substr(prefix.size()));
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }
  std::vector<ManagedPolicy> out;
  for (const auto& arn : arns) {
    auto p = GetPolicy(account, arn);
    if (p.ok()) out.push_back(std::move(*p));
  }
  return out;
}

Result<std::vector<std::pair<EntityType, std::string>>> PolicyStore::ListEntitiesForPolicy(
    const std::string& account, const std::string& arn) const {
  ANNEX_RETURN_IF_ERROR(GetPolicy(account, arn).status());
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto attached, AttachmentsOf(txn, attachments_, account, arn));
  std::vector<std::pair<EntityType, std::string>> out;
  for (auto& [key, entity] : attached) out.push_back(std::move(entity));
  return out;
}

Status PolicyStore::PutInlinePolicy(const std::string& account, EntityType type, const std::string& entity,
                                    const std::string& name, const std::string& document) {
  if (!ValidName(name)) return InvalidInput("The specified value for policyName is invalid.");
  ANNEX_RETURN_IF_ERROR(policy::ParsePolicy(document, policy::PolicyKind::kIdentity).status());
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  std::string prefix = EntityPrefix(account, type, entity);
  // IAM bounds the inline policies of an entity together.
  size_t total = policy::PolicySizeWithoutWhitespace(document);
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(inline_));
    Status scan = c.Seek(prefix);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      if (c.key().substr(prefix.size()) != name) total += policy::PolicySizeWithoutWhitespace(c.value());
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }
  if (total > InlineLimit(type)) {
    return Limit("Maximum policy size of " + std::to_string(InlineLimit(type)) + " bytes exceeded for " +
                 std::string(EntityTypeName(type)) + " " + entity);
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(inline_, prefix + name, document));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Result<std::string> PolicyStore::GetInlinePolicy(const std::string& account, EntityType type,
                                                 const std::string& entity, const std::string& name) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(inline_, EntityPrefix(account, type, entity) + name));
  if (!value) {
    return NoSuchEntity("The " + std::string(EntityTypeName(type)) + " policy with name " + name +
                        " cannot be found.");
  }
  return std::string(*value);
}

Status PolicyStore::DeleteInlinePolicy(const std::string& account, EntityType type, const std::string& entity,
                                       const std::string& name) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  std::string key = EntityPrefix(account, type, entity) + name;
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(inline_, key));
  if (!value) {
    return NoSuchEntity("The " + std::string(EntityTypeName(type)) + " policy with name " + name +
                        " cannot be found.");
  }
  ANNEX_RETURN_IF_ERROR(txn.Delete(inline_, key));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Result<std::vector<std::string>> PolicyStore::ListInlinePolicies(const std::string& account, EntityType type,
                                                                 const std::string& entity) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(inline_));
  std::string prefix = EntityPrefix(account, type, entity);
  std::vector<std::string> out;
  Status scan = c.Seek(prefix);
  for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
    out.emplace_back(c.key().substr(prefix.size()));
  }
  ANNEX_RETURN_IF_ERROR(scan);
  return out;
}

Result<bool> PolicyStore::HasPolicies(const std::string& account, EntityType type, const std::string& entity) const {
  ANNEX_ASSIGN_OR_RETURN(auto inline_names, ListInlinePolicies(account, type, entity));
  if (!inline_names.empty()) return true;
  ANNEX_ASSIGN_OR_RETURN(auto attached, ListAttachedPolicies(account, type, entity));
  return !attached.empty();
}

Status PolicyStore::SetBoundary(const std::string& account, EntityType type, const std::string& entity,
                                const std::string& arn) {
  Status exists = GetPolicy(account, arn).status();
  if (exists.IsNotFound()) return InvalidInput("ARN " + arn + " is not valid.");
  ANNEX_RETURN_IF_ERROR(exists);
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(txn.Put(boundaries_, EntityPrefix(account, type, entity), arn));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Result<std::optional<std::string>> PolicyStore::GetBoundary(const std::string& account, EntityType type,
                                                            const std::string& entity) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(boundaries_, EntityPrefix(account, type, entity)));
  if (!value) return std::optional<std::string>();
  return std::optional<std::string>(std::string(*value));
}

Status PolicyStore::DeleteBoundary(const std::string& account, EntityType type, const std::string& entity) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  Status s = txn.Delete(boundaries_, EntityPrefix(account, type, entity));
  if (s.IsNotFound()) return Status::OK();  // no boundary: nothing to remove
  ANNEX_RETURN_IF_ERROR(s);
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  Changed();
  return Status::OK();
}

Result<std::shared_ptr<const CompiledPolicies>> PolicyStore::IdentityPolicies(const std::string& account,
                                                                              EntityType type,
                                                                              const std::string& entity) const {
  std::string key = EntityPrefix(account, type, entity);
  uint64_t generation = 0;
  {
    std::shared_lock lock(cache_mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    generation = generation_;
  }
  auto compiled = std::make_shared<CompiledPolicies>();
  ANNEX_ASSIGN_OR_RETURN(auto inline_names, ListInlinePolicies(account, type, entity));
  for (const auto& name : inline_names) {
    ANNEX_ASSIGN_OR_RETURN(std::string doc, GetInlinePolicy(account, type, entity, name));
    ANNEX_ASSIGN_OR_RETURN(policy::Policy p, policy::ParsePolicy(doc, policy::PolicyKind::kIdentity));
    compiled->policies.push_back(std::move(p));
  }
  ANNEX_ASSIGN_OR_RETURN(auto attached, ListAttachedPolicies(account, type, entity));
  for (const auto& m : attached) {
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, GetPolicyVersion(account, m.arn, m.default_version));
    ANNEX_ASSIGN_OR_RETURN(policy::Policy p, policy::ParsePolicy(v.document, policy::PolicyKind::kIdentity));
    compiled->policies.push_back(std::move(p));
  }
  ANNEX_ASSIGN_OR_RETURN(auto boundary, GetBoundary(account, type, entity));
  if (boundary) {
    ANNEX_ASSIGN_OR_RETURN(ManagedPolicy m, GetPolicy(account, *boundary));
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, GetPolicyVersion(account, m.arn, m.default_version));
    ANNEX_ASSIGN_OR_RETURN(policy::Policy p, policy::ParsePolicy(v.document, policy::PolicyKind::kIdentity));
    compiled->boundary = std::move(p);
  }
  std::unique_lock lock(cache_mu_);
  // A change while compiling may have been read only in part: keep nothing then.
  if (generation == generation_) cache_.emplace(key, compiled);
  return std::shared_ptr<const CompiledPolicies>(compiled);
}

}  // namespace annex::iam
