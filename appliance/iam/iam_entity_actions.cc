#include "appliance/iam/iam_entity_actions.h"

#include <algorithm>
#include <array>

#include "appliance/iam/iam_paging.h"
#include "appliance/iam/iam_response.h"
#include "appliance/policy/policy.h"

namespace annex::iam {
namespace {

constexpr auto kEntityActions = std::to_array<std::string_view>({
    "CreateGroup", "GetGroup", "ListGroups", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup",
    "ListGroupsForUser", "CreateRole", "GetRole", "ListRoles", "DeleteRole", "UpdateRole",
    "UpdateAssumeRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
    "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary",
});

void AddBoundary(http::XmlNode node, const std::optional<std::string>& boundary) {
  if (!boundary) return;
  node.Child("PermissionsBoundary").Add("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
      .Add("PermissionsBoundaryArn", *boundary);
}

void AddGroupXml(http::XmlNode node, const Group& g) {
  node.Add("Path", g.path).Add("GroupName", g.name).Add("GroupId", g.group_id).Add("Arn", g.arn)
      .Add("CreateDate", FormatIso8601(g.created));
}

void AddRoleXml(http::XmlNode node, const Role& r, const std::optional<std::string>& boundary) {
  node.Add("Path", r.path).Add("RoleName", r.name).Add("RoleId", r.role_id).Add("Arn", r.arn)
      .Add("CreateDate", FormatIso8601(r.created)).Add("AssumeRolePolicyDocument", EncodeDocument(r.trust_policy));
  if (!r.description.empty()) node.Add("Description", r.description);
  node.Add("MaxSessionDuration", static_cast<uint64_t>(r.max_session_seconds));
  AddBoundary(node, boundary);
  if (!r.tags.empty()) {
    auto tags = node.Child("Tags");
    for (const auto& [k, v] : r.tags) tags.Child("member").Add("Key", k).Add("Value", v);
  }
}

std::vector<std::pair<std::string, std::string>> TagsOf(const http::QueryParams& p) {
  std::vector<std::pair<std::string, std::string>> tags;
  for (int i = 1; i <= 50; ++i) {
    const std::string* key = p.Get("Tags.member." + std::to_string(i) + ".Key");
    if (!key) break;
    tags.emplace_back(*key, Param(p, "Tags.member." + std::to_string(i) + ".Value"));
  }
  return tags;
}

Status CheckTrustPolicy(const std::string& document) {
  return policy::ParsePolicy(document, policy::PolicyKind::kTrust, policy::kTrustPolicyMaxChars).status();
}

template <typename T>
std::vector<T> UnderPath(std::vector<T> list, const http::QueryParams& p) {
  std::string prefix = p.Get("PathPrefix") ? Param(p, "PathPrefix") : "/";
  std::erase_if(list, [&](const T& item) { return !item.path.starts_with(prefix); });
  return list;
}

Status RunGroupAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                      IdentityStore& identities, PolicyStore& policies, Responder& out) {
  const std::string group = Param(p, "GroupName");
  const std::string user = Param(p, "UserName");
  if (action == "CreateGroup") {
    ANNEX_ASSIGN_OR_RETURN(Group g, identities.CreateGroup(account, group, Param(p, "Path")));
    AddGroupXml(out.Result().Child("Group"), g);
  } else if (action == "GetGroup") {
    ANNEX_ASSIGN_OR_RETURN(Group g, identities.GetGroup(account, group));
    ANNEX_ASSIGN_OR_RETURN(auto members, identities.ListGroupMembers(account, group));
    AddGroupXml(out.Result().Child("Group"), g);
    auto page = Paginate(members, p, [](const std::string& n) { return n; });
    auto node = out.Result().Child("Users");
    for (const std::string& name : page.items) {
      auto u = identities.GetUser(account, name);
      if (u.ok()) AddUserXml(node.Child("member"), *u, std::nullopt);
    }
    page.Finish(out.Result());
  } else if (action == "ListGroups") {
    ANNEX_ASSIGN_OR_RETURN(auto groups, identities.ListGroups(account));
    groups = UnderPath(std::move(groups), p);
    auto page = Paginate(groups, p, [](const Group& g) { return g.name; });
    auto node = out.Result().Child("Groups");
    for (const Group& g : page.items) AddGroupXml(node.Child("member"), g);
    page.Finish(out.Result());
  } else if (action == "DeleteGroup") {
    ANNEX_ASSIGN_OR_RETURN(bool has_policies, policies.HasPolicies(account, EntityType::kGroup, group));
    if (has_policies) {
      return Status(StatusCode::kFailedPrecondition, "Cannot delete entity, must delete policies first.",
                    "DeleteConflict");
    }
    return identities.DeleteGroup(account, group);
  } else if (action == "AddUserToGroup") {
    return identities.AddUserToGroup(account, group, user);
  } else if (action == "RemoveUserFromGroup") {
    return identities.RemoveUserFromGroup(account, group, user);
  } else if (action == "ListGroupsForUser") {
    ANNEX_ASSIGN_OR_RETURN(auto groups, identities.ListGroupsForUser(account, user));
    auto page = Paginate(groups, p, [](const Group& g) { return g.name; });
    auto node = out.Result().Child("Groups");
    for (const Group& g : page.items) AddGroupXml(node.Child("member"), g);
    page.Finish(out.Result());
  }
  return Status::OK();
}

Status CreateRole(const http::QueryParams& p, const std::string& account, IdentityStore& identities,
                  PolicyStore& policies, Responder& out) {
  Role role;
  role.account_id = account;
  role.name = Param(p, "RoleName");
  role.path = p.Get("Path") ? Param(p, "Path") : "/";
  role.trust_policy = Param(p, "AssumeRolePolicyDocument");
  role.description = Param(p, "Description");
  if (p.Get("MaxSessionDuration")) role.max_session_seconds = std::stoi(Param(p, "MaxSessionDuration"));
  role.tags = TagsOf(p);
  ANNEX_RETURN_IF_ERROR(CheckTrustPolicy(role.trust_policy));
  std::optional<std::string> boundary;
  if (const std::string* arn = p.Get("PermissionsBoundary")) {
    ANNEX_RETURN_IF_ERROR(policies.GetPolicy(account, *arn).status());
    boundary = *arn;
  }
  ANNEX_ASSIGN_OR_RETURN(Role created, identities.CreateRole(std::move(role)));
  if (boundary) ANNEX_RETURN_IF_ERROR(policies.SetBoundary(account, EntityType::kRole, created.name, *boundary));
  AddRoleXml(out.Result().Child("Role"), created, boundary);
  return Status::OK();
}

Status RunRoleAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                     IdentityStore& identities, PolicyStore& policies, Responder& out) {
  const std::string name = Param(p, "RoleName");
  if (action == "CreateRole") return CreateRole(p, account, identities, policies, out);
  if (action == "ListRoles") {
    ANNEX_ASSIGN_OR_RETURN(auto roles, identities.ListRoles(account));
    roles = UnderPath(std::move(roles), p);
    auto page = Paginate(roles, p, [](const Role& r) { return r.name; });
    auto node = out.Result().Child("Roles");
    for (const Role& r : page.items) {
      ANNEX_ASSIGN_OR_RETURN(auto boundary, policies.GetBoundary(account, EntityType::kRole, r.name));
      AddRoleXml(node.Child("member"), r, boundary);
    }
    page.Finish(out.Result());
    return Status::OK();
  }
  ANNEX_ASSIGN_OR_RETURN(Role role, identities.GetRole(account, name));
  if (action == "GetRole") {
    ANNEX_ASSIGN_OR_RETURN(auto boundary, policies.GetBoundary(account, EntityType::kRole, name));
    AddRoleXml(out.Result().Child("Role"), role, boundary);
  } else if (action == "DeleteRole") {
    ANNEX_ASSIGN_OR_RETURN(bool has_policies, policies.HasPolicies(account, EntityType::kRole, name));
    if (has_policies) {
      return Status(StatusCode::kFailedPrecondition, "Cannot delete entity, must detach all policies first.",
                    "DeleteConflict");
    }
    ANNEX_RETURN_IF_ERROR(identities.DeleteRole(account, name));
    return policies.DeleteBoundary(account, EntityType::kRole, name);
  } else if (action == "UpdateRole") {
    if (p.Get("Description")) role.description = Param(p, "Description");
    if (p.Get("MaxSessionDuration")) role.max_session_seconds = std::stoi(Param(p, "MaxSessionDuration"));
    ANNEX_RETURN_IF_ERROR(identities.UpdateRole(role));
    out.Result();  // IAM answers an empty UpdateRoleResult
  } else if (action == "UpdateAssumeRolePolicy") {
    role.trust_policy = Param(p, "PolicyDocument");
    ANNEX_RETURN_IF_ERROR(CheckTrustPolicy(role.trust_policy));
    return identities.UpdateRole(role);
  } else if (action == "PutRolePermissionsBoundary") {
    return policies.SetBoundary(account, EntityType::kRole, name, Param(p, "PermissionsBoundary"));
  } else if (action == "DeleteRolePermissionsBoundary") {
    return policies.DeleteBoundary(account, EntityType::kRole, name);
  }
  return Status::OK();
}

Status RunUserBoundaryAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                             IdentityStore& identities, PolicyStore& policies) {
  const std::string user = Param(p, "UserName");
  ANNEX_RETURN_IF_ERROR(identities.GetUser(account, user).status());
  if (action == "PutUserPermissionsBoundary") {
    return policies.SetBoundary(account, EntityType::kUser, user, Param(p, "PermissionsBoundary"));
  }
  return policies.DeleteBoundary(account, EntityType::kUser, user);
}

}  // namespace

void AddUserXml(http::XmlNode node, const User& u, const std::optional<std::string>& boundary) {
  node.Add("Path", "/").Add("UserName", u.name).Add("UserId", u.user_id).Add("Arn", u.arn)
      .Add("CreateDate", FormatIso8601(u.created));
  AddBoundary(node, boundary);
}

bool IsEntityAction(std::string_view action) {
  return std::find(kEntityActions.begin(), kEntityActions.end(), action) != kEntityActions.end();
}

Result<std::string> RunEntityAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                                    const std::string& request_id, IdentityStore& identities, PolicyStore& policies) {
  Responder out(action, request_id);
  if (action.find("Group") != std::string_view::npos) {
    ANNEX_RETURN_IF_ERROR(RunGroupAction(action, p, account, identities, policies, out));
  } else if (action.find("Role") != std::string_view::npos) {
    ANNEX_RETURN_IF_ERROR(RunRoleAction(action, p, account, identities, policies, out));
  } else if (IsEntityAction(action)) {
    ANNEX_RETURN_IF_ERROR(RunUserBoundaryAction(action, p, account, identities, policies));
  } else {
    return Status(StatusCode::kInvalidArgument, "Could not find operation " + std::string(action), "InvalidAction");
  }
  return out.Finish();
}

}  // namespace annex::iam
