#include "appliance/iam/iam_access.h"

#include <string>

#include "appliance/http/api_error.h"

namespace annex::iam {
namespace {

// What a user may do to itself; everything else needs the account root.
bool UserMayActOnItself(std::string_view action) {
  return action == "GetUser" || action == "CreateAccessKey" || action == "ListAccessKeys" ||
         action == "UpdateAccessKey" || action == "DeleteAccessKey";
}

}  // namespace

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

std::string IamResourceArn(std::string_view action, const Identity& target) {
  // IAM names the user path for account-wide listings.
  if (action == "ListUsers") return "arn:aws:iam::" + target.account_id() + ":user/";
  return target.Arn();
}

Status AuthorizeIamAction(const auth::Principal& caller, std::string_view action, const Identity& target) {
  bool same_account = !caller.anonymous && !caller.account_id.empty() && caller.account_id == target.account_id();
  if (same_account && caller.is_root()) return Status::OK();
  bool self = same_account && !caller.is_root() && !target.is_root() && !caller.user_name.empty() &&
              target.user_name() == caller.user_name;
  if (self && UserMayActOnItself(action)) return Status::OK();
  std::string who = caller.anonymous ? std::string("anonymous") : caller.arn;
  return http::ApiStatus("AccessDenied", "User: " + who + " is not authorized to perform: iam:" + std::string(action) +
                                             " on resource: " + IamResourceArn(action, target));
}

}  // namespace annex::iam
