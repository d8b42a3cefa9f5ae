#include "appliance/iam/iam_access.h"

#include <string>

#include "appliance/http/api_error.h"

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
  // IAM names the user path for account-wide user listings; policy listings have no resource.
  if (action == "ListUsers") return account_arn + "user/";
  if (action == "ListPolicies") return "*";
  if (action == "CreatePolicy") {
    const std::string* path = params.Get("Path");
    const std::string* name = params.Get("PolicyName");
    return account_arn + "policy" + (path ? *path : std::string("/")) + (name ? *name : std::string());
  }
  bool about_a_policy = action.find("Policy") != std::string_view::npos && !action.ends_with("UserPolicy") &&
                        !action.ends_with("UserPolicies");
  if (const std::string* arn = params.Get("PolicyArn"); arn && about_a_policy) return *arn;
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
