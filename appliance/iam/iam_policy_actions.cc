#include "appliance/iam/iam_policy_actions.h"

#include <algorithm>
#include <array>
#include <optional>

#include "appliance/core/strings.h"
#include "appliance/iam/iam_paging.h"
#include "appliance/iam/iam_response.h"

namespace annex::iam {
namespace {

constexpr auto kManagedPolicyActions = std::to_array<std::string_view>({
    "CreatePolicy", "GetPolicy", "DeletePolicy", "ListPolicies", "CreatePolicyVersion", "GetPolicyVersion",
    "DeletePolicyVersion", "SetDefaultPolicyVersion", "ListPolicyVersions", "ListEntitiesForPolicy",
});

// The entity policy actions, with the entity's type left out:
// "AttachGroupPolicy" is Attach…Policy for a group.
constexpr auto kEntityPolicyVerbs = std::to_array<std::pair<std::string_view, std::string_view>>({
    {"Attach", "Policy"}, {"Detach", "Policy"}, {"ListAttached", "Policies"}, {"Put", "Policy"},
    {"Get", "Policy"}, {"Delete", "Policy"}, {"List", "Policies"},
});

struct EntityAction {
  std::string_view verb;  // "Attach", "ListAttached", …
  EntityType type;
};

std::optional<EntityAction> ParseEntityAction(std::string_view action) {
  for (EntityType type : {EntityType::kUser, EntityType::kGroup, EntityType::kRole}) {
    for (const auto& [verb, suffix] : kEntityPolicyVerbs) {
      std::string name = std::string(verb) + std::string(EntityTypeName(type)) + std::string(suffix);
      if (name == action) return EntityAction{verb, type};
    }
  }
  return std::nullopt;
}

std::string_view EntityParam(EntityType type) {
  switch (type) {
    case EntityType::kUser: return "UserName";
    case EntityType::kGroup: return "GroupName";
    case EntityType::kRole: return "RoleName";
  }
  return "UserName";
}

Status CheckEntityExists(const IdentityStore& identities, const std::string& account, EntityType type,
                         const std::string& name) {
  switch (type) {
    case EntityType::kUser: return identities.GetUser(account, name).status();
    case EntityType::kGroup: return identities.GetGroup(account, name).status();
    case EntityType::kRole: return identities.GetRole(account, name).status();
  }
  return Status::OK();
}

void AddPolicy(http::XmlNode node, const ManagedPolicy& p) {
  node.Add("PolicyName", p.name).Add("PolicyId", p.id).Add("Arn", p.arn).Add("Path", p.path)
      .Add("DefaultVersionId", p.default_version).Add("AttachmentCount", p.attachment_count)
      .Add("PermissionsBoundaryUsageCount", p.boundary_count).AddBool("IsAttachable", true);
  if (!p.description.empty()) node.Add("Description", p.description);
  node.Add("CreateDate", FormatIso8601(p.created)).Add("UpdateDate", FormatIso8601(p.updated));
}

void AddVersion(http::XmlNode node, const PolicyVersion& v, bool with_document) {
  if (with_document) node.Add("Document", EncodeDocument(v.document));
  node.Add("VersionId", v.version_id).AddBool("IsDefaultVersion", v.is_default)
      .Add("CreateDate", FormatIso8601(v.created));
}

bool Flag(const http::QueryParams& p, std::string_view name) { return Param(p, name) == "true"; }

std::vector<ManagedPolicy> UnderPath(std::vector<ManagedPolicy> list, const http::QueryParams& p) {
  std::string prefix = p.Get("PathPrefix") ? Param(p, "PathPrefix") : "/";
  std::erase_if(list, [&](const ManagedPolicy& m) { return !m.path.starts_with(prefix); });
  return list;
}

Status RunEntityPolicyAction(const EntityAction& a, const http::QueryParams& p, const std::string& account,
                             IdentityStore& identities, PolicyStore& policies, Responder& out) {
  const std::string entity = Param(p, EntityParam(a.type));
  const std::string arn = Param(p, "PolicyArn");
  const std::string name = Param(p, "PolicyName");
  ANNEX_RETURN_IF_ERROR(CheckEntityExists(identities, account, a.type, entity));
  if (a.verb == "Attach") return policies.AttachPolicy(account, a.type, entity, arn);
  if (a.verb == "Detach") return policies.DetachPolicy(account, a.type, entity, arn);
  if (a.verb == "ListAttached") {
    ANNEX_ASSIGN_OR_RETURN(auto attached, policies.ListAttachedPolicies(account, a.type, entity));
    attached = UnderPath(std::move(attached), p);
    std::sort(attached.begin(), attached.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
    auto page = Paginate(attached, p, [](const ManagedPolicy& m) { return m.name; });
    auto node = out.Result().Child("AttachedPolicies");
    for (const auto& m : page.items) node.Child("member").Add("PolicyName", m.name).Add("PolicyArn", m.arn);
    page.Finish(out.Result());
    return Status::OK();
  }
  if (a.verb == "Put") return policies.PutInlinePolicy(account, a.type, entity, name, Param(p, "PolicyDocument"));
  if (a.verb == "Get") {
    ANNEX_ASSIGN_OR_RETURN(std::string doc, policies.GetInlinePolicy(account, a.type, entity, name));
    out.Result().Add(EntityParam(a.type), entity).Add("PolicyName", name).Add("PolicyDocument", EncodeDocument(doc));
    return Status::OK();
  }
  if (a.verb == "Delete") return policies.DeleteInlinePolicy(account, a.type, entity, name);
  ANNEX_ASSIGN_OR_RETURN(auto names, policies.ListInlinePolicies(account, a.type, entity));
  std::sort(names.begin(), names.end());
  auto page = Paginate(names, p, [](const std::string& n) { return n; });
  auto node = out.Result().Child("PolicyNames");
  for (const auto& n : page.items) node.Add("member", n);
  page.Finish(out.Result());
  return Status::OK();
}

void AddEntitiesForPolicy(const std::vector<std::pair<EntityType, std::string>>& entities, const std::string& account,
                          const IdentityStore& identities, Responder& out) {
  auto groups = out.Result().Child("PolicyGroups");
  auto users = out.Result().Child("PolicyUsers");
  auto roles = out.Result().Child("PolicyRoles");
  for (const auto& [type, name] : entities) {
    if (type == EntityType::kUser) {
      auto u = identities.GetUser(account, name);
      users.Child("member").Add("UserName", name).Add("UserId", u.ok() ? u->user_id : std::string());
    } else if (type == EntityType::kGroup) {
      auto g = identities.GetGroup(account, name);
      groups.Child("member").Add("GroupName", name).Add("GroupId", g.ok() ? g->group_id : std::string());
    } else {
      auto r = identities.GetRole(account, name);
      roles.Child("member").Add("RoleName", name).Add("RoleId", r.ok() ? r->role_id : std::string());
    }
  }
}

Status RunManagedPolicyAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                              IdentityStore& identities, PolicyStore& policies, Responder& out) {
  const std::string arn = Param(p, "PolicyArn");
  if (action == "CreatePolicy") {
    ANNEX_ASSIGN_OR_RETURN(ManagedPolicy m, policies.CreatePolicy(account, Param(p, "PolicyName"), Param(p, "Path"),
                                                                  Param(p, "Description"), Param(p, "PolicyDocument")));
    AddPolicy(out.Result().Child("Policy"), m);
  } else if (action == "GetPolicy") {
    ANNEX_ASSIGN_OR_RETURN(ManagedPolicy m, policies.GetPolicy(account, arn));
    AddPolicy(out.Result().Child("Policy"), m);
  } else if (action == "DeletePolicy") {
    return policies.DeletePolicy(account, arn);
  } else if (action == "ListPolicies") {
    std::string scope = Param(p, "Scope");
    PolicyScope s = scope == "AWS" ? PolicyScope::kAws : scope == "Local" ? PolicyScope::kLocal : PolicyScope::kAll;
    ANNEX_ASSIGN_OR_RETURN(auto list, policies.ListPolicies(account, s, Flag(p, "OnlyAttached")));
    list = UnderPath(std::move(list), p);
    auto page = Paginate(list, p, [](const ManagedPolicy& m) { return m.name; });
    auto node = out.Result().Child("Policies");
    for (const auto& m : page.items) AddPolicy(node.Child("member"), m);
    page.Finish(out.Result());
  } else if (action == "CreatePolicyVersion") {
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, policies.CreatePolicyVersion(account, arn, Param(p, "PolicyDocument"),
                                                                         Flag(p, "SetAsDefault")));
    AddVersion(out.Result().Child("PolicyVersion"), v, false);
  } else if (action == "GetPolicyVersion") {
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, policies.GetPolicyVersion(account, arn, Param(p, "VersionId")));
    AddVersion(out.Result().Child("PolicyVersion"), v, true);
  } else if (action == "DeletePolicyVersion") {
    return policies.DeletePolicyVersion(account, arn, Param(p, "VersionId"));
  } else if (action == "SetDefaultPolicyVersion") {
    return policies.SetDefaultPolicyVersion(account, arn, Param(p, "VersionId"));
  } else if (action == "ListPolicyVersions") {
    ANNEX_ASSIGN_OR_RETURN(auto versions, policies.ListPolicyVersions(account, arn));
    // Newest first, as IAM lists them; the marker is the version id.
    std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
    auto node = out.Result().Child("Versions");
    for (const auto& v : versions) AddVersion(node.Child("member"), v, false);
    out.Result().AddBool("IsTruncated", false);  // at most 5 versions: one page
  } else if (action == "ListEntitiesForPolicy") {
    ANNEX_ASSIGN_OR_RETURN(auto entities, policies.ListEntitiesForPolicy(account, arn));
    AddEntitiesForPolicy(entities, account, identities, out);
    out.Result().AddBool("IsTruncated", false);
  }
  return Status::OK();
}

}  // namespace

bool IsPolicyAction(std::string_view action) {
  return std::find(kManagedPolicyActions.begin(), kManagedPolicyActions.end(), action) !=
             kManagedPolicyActions.end() ||
         ParseEntityAction(action).has_value();
}

std::optional<EntityType> EntityPolicyActionType(std::string_view action) {
  auto parsed = ParseEntityAction(action);
  if (!parsed) return std::nullopt;
  return parsed->type;
}

Result<std::string> RunPolicyAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                                    const std::string& request_id, IdentityStore& identities, PolicyStore& policies) {
  Responder out(action, request_id);
  if (auto entity = ParseEntityAction(action)) {
    ANNEX_RETURN_IF_ERROR(RunEntityPolicyAction(*entity, p, account, identities, policies, out));
  } else if (IsPolicyAction(action)) {
    ANNEX_RETURN_IF_ERROR(RunManagedPolicyAction(action, p, account, identities, policies, out));
  } else {
    return Status(StatusCode::kInvalidArgument, "Could not find operation " + std::string(action), "InvalidAction");
  }
  return out.Finish();
}

}  // namespace annex::iam
