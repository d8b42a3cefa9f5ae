#include "appliance/iam/root_service_users.h"

#include "appliance/core/log.h"
#include "appliance/policy/policy.h"

namespace annex::iam {
namespace {

// IAM's bound on a user's inline policies together; PolicyStore enforces it
// too, but checking first means a document over it changes nothing.
constexpr size_t kUserInlinePolicyMaxChars = 2048;

Status CheckName(const std::string& name) {
  if (IsValidUserName(name)) return Status::OK();
  return Status(StatusCode::kInvalidArgument,
                "service user name '" + name + "' is not 1-64 characters of [A-Za-z0-9+=,.@_-]", "ValidationError");
}

}  // namespace

Result<service::ServiceUserKey> RootServiceUsers::Provision(const std::string& name, const std::string& policy_json) {
  ANNEX_RETURN_IF_ERROR(CheckName(name));
  ANNEX_RETURN_IF_ERROR(
      policy::ParsePolicy(policy_json, policy::PolicyKind::kIdentity, kUserInlinePolicyMaxChars).status());
  std::lock_guard lock(mu_);
  Result<User> user = identities_.GetUser(account_id_, name);
  if (!user.ok() && user.status().IsNotFound()) user = identities_.CreateUser(account_id_, name);
  // Made just now through the IAM API by someone else: it is the same user.
  if (!user.ok() && user.status().code() == StatusCode::kAlreadyExists) user = identities_.GetUser(account_id_, name);
  if (!user.ok()) return user.status();
  // The others first, so that IAM's bound on the user's inline policies
  // together applies to this one alone.
  ANNEX_RETURN_IF_ERROR(DeleteInlinePolicies(name, kPolicyName));
  ANNEX_RETURN_IF_ERROR(policies_.PutInlinePolicy(account_id_, EntityType::kUser, name, kPolicyName, policy_json));
  // Older keys may have leaked with whatever held them; and a user has two
  // key slots at most.
  ANNEX_RETURN_IF_ERROR(DeleteAccessKeys(name));
  ANNEX_ASSIGN_OR_RETURN(AccessKey key, identities_.CreateAccessKey(Identity::User(account_id_, name)));
  log::Info("iam: service user provisioned", {{"user", name}, {"access_key_id", key.access_key_id}});
  return service::ServiceUserKey{user->arn, key.access_key_id, key.secret_access_key};
}

Status RootServiceUsers::Remove(const std::string& name) {
  ANNEX_RETURN_IF_ERROR(CheckName(name));
  std::lock_guard lock(mu_);
  Status exists = identities_.GetUser(account_id_, name).status();
  if (exists.IsNotFound()) return Status::OK();
  ANNEX_RETURN_IF_ERROR(exists);
  // Keys first: from then on nothing signs as the user, whatever remains.
  ANNEX_RETURN_IF_ERROR(DeleteAccessKeys(name));
  ANNEX_RETURN_IF_ERROR(DeleteInlinePolicies(name, ""));
  ANNEX_ASSIGN_OR_RETURN(auto attached, policies_.ListAttachedPolicies(account_id_, EntityType::kUser, name));
  for (const auto& p : attached) {
    ANNEX_RETURN_IF_ERROR(policies_.DetachPolicy(account_id_, EntityType::kUser, name, p.arn));
  }
  ANNEX_RETURN_IF_ERROR(policies_.DeleteBoundary(account_id_, EntityType::kUser, name));
  ANNEX_ASSIGN_OR_RETURN(auto groups, identities_.ListGroupsForUser(account_id_, name));
  for (const auto& g : groups) ANNEX_RETURN_IF_ERROR(identities_.RemoveUserFromGroup(account_id_, g.name, name));
  Status deleted = identities_.DeleteUser(account_id_, name);
  if (!deleted.ok() && !deleted.IsNotFound()) return deleted;
  log::Info("iam: service user removed", {{"user", name}});
  return Status::OK();
}

Status RootServiceUsers::DeleteInlinePolicies(const std::string& name, const std::string& keep) {
  ANNEX_ASSIGN_OR_RETURN(auto names, policies_.ListInlinePolicies(account_id_, EntityType::kUser, name));
  for (const auto& n : names) {
    if (n == keep) continue;
    Status s = policies_.DeleteInlinePolicy(account_id_, EntityType::kUser, name, n);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::OK();
}

Status RootServiceUsers::DeleteAccessKeys(const std::string& name) {
  const Identity owner = Identity::User(account_id_, name);
  ANNEX_ASSIGN_OR_RETURN(auto keys, identities_.ListAccessKeys(owner));
  for (const auto& k : keys) {
    Status s = identities_.DeleteAccessKey(owner, k.access_key_id);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::OK();
}

}  // namespace annex::iam
