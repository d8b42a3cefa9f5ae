#include "appliance/iam/iam_access.h"

#include <string>

#include "appliance/http/api_error.h"
#include "appliance/iam/iam_policy_actions.h"

namespace annex::iam {

Identity CallerIdentity(const auth::Principal& caller) {
  if (caller.is_root()) return Identity::Root(caller.account_id);
  return Identity::User(caller.account_id, caller.user_name);
}

Identity TargetIdentity(const auth::Principal& caller, std::string_view action, const http::QueryParams& params) {
  if (action == "ListUsers") return Identity::Root(caller.account_id);
  // Presence, not content, decides: a present UserName always names a user,
  // and an empty one has already been refused by validation.
  const std::string* user = params.Get("UserName");
  if (!user) return CallerIdentity(caller);
  return Identity::User(caller.account_id, *user);
}

std::string IamResourceArn(std::string_view action, const Identity& target, const http::QueryParams& params) {
  const std::string account_arn = "arn:aws:iam::" + target.account_id() + ":";
  auto param = [&](std::string_view name) {
    const std::string* v = params.Get(name);
    return v ? *v : std::string();
  };
  // IAM names the path for account-wide listings; policy listings have no resource.
  if (action == "ListUsers") return account_arn + "user/";
  if (action == "ListGroups") return account_arn + "group/";
  if (action == "ListRoles") return account_arn + "role/";
  if (action == "ListPolicies") return "*";
  if (action == "CreatePolicy") {
    return account_arn + "policy" + (params.Get("Path") ? param("Path") : std::string("/")) + param("PolicyName");
  }
  if (action == "ListGroupsForUser") return target.Arn();
  if (action == "SimulatePrincipalPolicy") return param("PolicySourceArn");
  if (action == "SimulateCustomPolicy") return "*";
  // An action about a group or role is authorized on it (AddUserToGroup on
  // the group, AttachRolePolicy on the role); one about a managed policy on
  // the policy; the rest on the user.
  if (params.Get("GroupName")) return account_arn + "group/" + param("GroupName");
  if (params.Get("RoleName")) return account_arn + "role/" + param("RoleName");
  if (params.Get("PolicyArn") && !EntityPolicyActionType(action)) return param("PolicyArn");
  return target.Arn();
}

Status AuthorizeIamAction(const service::RequestContext& ctx, const service::Authorizer* authorizer,
                          std::string_view action, const Identity& target, const http::QueryParams& params) {
  const auth::Principal& caller = ctx.principal;
  bool same_account = !caller.anonymous && !caller.account_id.empty() && caller.account_id == target.account_id();
  if (same_account && caller.is_root()) return Status::OK();
  std::string resource = IamResourceArn(action, target, params);
  std::string iam_action = "iam:" + std::string(action);
  policy::Verdict verdict;
  if (same_account && authorizer) {
    service::AccessRequest request;
    request.action = iam_action;
    request.resource = resource;
    request.resource_account = target.account_id();
    if (const std::string* arn = params.Get("PolicyArn")) request.context.Set("iam:PolicyARN", *arn);
    verdict = authorizer->Check(ctx, request);
    if (verdict.allowed()) return Status::OK();
  }
  std::string who = caller.anonymous ? std::string("anonymous") : caller.arn;
  std::string message = "User: " + who + " is not authorized to perform: " + iam_action + " on resource: " + resource;
  if (verdict.decision == policy::Decision::kExplicitDeny) {
    message += " with an explicit deny in an identity-based policy";
  } else {
    message += " because no identity-based policy allows the " + iam_action + " action";
  }
  return http::ApiStatus("AccessDenied", std::move(message));
}

}  // namespace annex::iam
