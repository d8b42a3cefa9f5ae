// IdentityStore: groups and their members.

#include <algorithm>

#include "appliance/core/strings.h"
#include "appliance/iam/identity_keys.h"
#include "appliance/iam/identity_store.h"
#include "appliance/os/random.h"
#include "appliance/store/record.h"

namespace annex::iam {
namespace {

using internal::JoinKey;
constexpr uint8_t kVersion = 1;

std::string EncodeGroup(const Group& g) {
  return store::RecordWriter(kVersion).Bytes(g.account_id).Bytes(g.name).Bytes(g.path).Bytes(g.group_id)
      .Bytes(g.arn).I64(os::ToUnixMillis(g.created)).Finish();
}

Result<Group> DecodeGroup(std::string_view data) {
  store::RecordReader r(data);
  Group g;
  ANNEX_ASSIGN_OR_RETURN(g.account_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(g.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(g.path, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(g.group_id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(g.arn, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(int64_t ms, r.I64());
  g.created = os::FromUnixMillis(ms);
  return g;
}

Status NoSuchGroup(const std::string& name) {
  return Status(StatusCode::kNotFound, "The group with name " + name + " cannot be found.", "NoSuchEntity");
}

// The last part of keys under `prefix` ("A\0B\0" → every C of "A\0B\0C").
Result<std::vector<std::string>> ListSuffixes(const store::ReadTxn& txn, store::Table table,
                                              const std::string& prefix) {
  ANNEX_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(table));
  std::vector<std::string> out;
  ANNEX_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.Valid() && StartsWith(cursor.key(), prefix)) {
    out.emplace_back(cursor.key().substr(prefix.size()));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

}  // namespace

bool IsValidGroupName(std::string_view name) { return IsValidUserName(name, 128); }

void IdentityStore::MembershipChanged() {
  std::unique_lock lock(groups_mu_);
  groups_of_user_.clear();
  ++membership_generation_;
}

Result<Group> IdentityStore::CreateGroup(const std::string& account_id, const std::string& name,
                                         const std::string& path) {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  std::string key = JoinKey({account_id, name});
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(groups_, key));
  if (existing) {
    return Status(StatusCode::kAlreadyExists, "Group with name " + name + " already exists.", "EntityAlreadyExists");
  }
  Group g;
  g.account_id = account_id;
  g.name = name;
  g.path = path.empty() ? "/" : path;
  g.group_id = "AGPA" + os::RandomString(17, internal::kIdAlphabet);
  g.arn = "arn:aws:iam::" + account_id + ":group" + g.path + name;
  g.created = clock_.Now();
  ANNEX_RETURN_IF_ERROR(txn.Put(groups_, key, EncodeGroup(g)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return g;
}

Result<Group> IdentityStore::GetGroup(const std::string& account_id, const std::string& name) const {
  if (!IsValidGroupName(name)) return NoSuchGroup(name);
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(groups_, JoinKey({account_id, name})));
  if (!raw) return NoSuchGroup(name);
  return DecodeGroup(*raw);
}

Result<std::vector<Group>> IdentityStore::ListGroups(const std::string& account_id) const {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  return internal::DecodeAll<Group>(txn, groups_, JoinKey({account_id, ""}), DecodeGroup);
}

Status IdentityStore::DeleteGroup(const std::string& account_id, const std::string& name) {
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(groups_, JoinKey({account_id, name})));
  if (!raw) return NoSuchGroup(name);
  ANNEX_ASSIGN_OR_RETURN(auto members, ListSuffixes(txn, members_, JoinKey({account_id, name, ""})));
  if (!members.empty()) {
    return Status(StatusCode::kFailedPrecondition, "Cannot delete entity, must remove users from group first.",
                  "DeleteConflict");
  }
  ANNEX_RETURN_IF_ERROR(txn.Delete(groups_, JoinKey({account_id, name})));
  return txn.Commit();
}

Status IdentityStore::AddUserToGroup(const std::string& account_id, const std::string& group,
                                     const std::string& user) {
  ANNEX_RETURN_IF_ERROR(GetUser(account_id, user).status());
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(groups_, JoinKey({account_id, group})));
  if (!raw) return NoSuchGroup(group);
  ANNEX_ASSIGN_OR_RETURN(auto groups, ListSuffixes(txn, user_groups_, JoinKey({account_id, user, ""})));
  if (groups.size() >= 10 && std::find(groups.begin(), groups.end(), group) == groups.end()) {
    return Status(StatusCode::kResourceExhausted, "Cannot exceed quota for GroupsPerUser: 10", "LimitExceeded");
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(members_, JoinKey({account_id, group, user}), ""));
  ANNEX_RETURN_IF_ERROR(txn.Put(user_groups_, JoinKey({account_id, user, group}), ""));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  MembershipChanged();
  return Status::OK();
}

Status IdentityStore::RemoveUserFromGroup(const std::string& account_id, const std::string& group,
                                          const std::string& user) {
  ANNEX_RETURN_IF_ERROR(GetUser(account_id, user).status());
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto raw, txn.Get(groups_, JoinKey({account_id, group})));
  if (!raw) return NoSuchGroup(group);
  Status s = txn.Delete(members_, JoinKey({account_id, group, user}));
  if (s.IsNotFound()) {
    return Status(StatusCode::kNotFound, "User " + user + " is not in group " + group + ".", "NoSuchEntity");
  }
  ANNEX_RETURN_IF_ERROR(s);
  ANNEX_RETURN_IF_ERROR(txn.Delete(user_groups_, JoinKey({account_id, user, group})));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  MembershipChanged();
  return Status::OK();
}

Result<std::vector<std::string>> IdentityStore::ListGroupMembers(const std::string& account_id,
                                                                 const std::string& group) const {
  ANNEX_RETURN_IF_ERROR(GetGroup(account_id, group).status());
  ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
  return ListSuffixes(txn, members_, JoinKey({account_id, group, ""}));
}

Result<std::vector<Group>> IdentityStore::ListGroupsForUser(const std::string& account_id,
                                                            const std::string& user) const {
  ANNEX_RETURN_IF_ERROR(GetUser(account_id, user).status());
  std::vector<std::string> names;
  {
    ANNEX_ASSIGN_OR_RETURN(auto txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(names, ListSuffixes(txn, user_groups_, JoinKey({account_id, user, ""})));
  }
  std::vector<Group> out;
  for (const std::string& name : names) {
    ANNEX_ASSIGN_OR_RETURN(Group g, GetGroup(account_id, name));
    out.push_back(std::move(g));
  }
  return out;
}

std::shared_ptr<const std::vector<std::string>> IdentityStore::GroupNamesOfUser(const std::string& account_id,
                                                                                const std::string& user) const {
  std::string key = JoinKey({account_id, user});
  uint64_t generation;
  {
    std::shared_lock lock(groups_mu_);
    if (auto it = groups_of_user_.find(key); it != groups_of_user_.end()) return it->second;
    generation = membership_generation_;
  }
  auto txn = env_->BeginRead();
  if (!txn.ok()) return nullptr;
  auto listed = ListSuffixes(*txn, user_groups_, JoinKey({account_id, user, ""}));
  if (!listed.ok()) return nullptr;
  auto names = std::make_shared<const std::vector<std::string>>(std::move(*listed));
  std::unique_lock lock(groups_mu_);
  if (generation == membership_generation_) {
    if (groups_of_user_.size() > 10000) groups_of_user_.clear();
    groups_of_user_[key] = names;
  }
  return names;
}

}  // namespace annex::iam
