#include "appliance/iam/iam_policy_actions.h"

#include <algorithm>
#include <array>

#include "appliance/core/strings.h"
#include "appliance/http/xml.h"

namespace annex::iam {
namespace {

constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

constexpr auto kPolicyActions = std::to_array<std::string_view>({
    "CreatePolicy", "GetPolicy", "DeletePolicy", "ListPolicies", "CreatePolicyVersion", "GetPolicyVersion",
    "DeletePolicyVersion", "SetDefaultPolicyVersion", "ListPolicyVersions", "ListEntitiesForPolicy",
    "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies", "PutUserPolicy", "GetUserPolicy",
    "DeleteUserPolicy", "ListUserPolicies",
});

std::string Param(const http::QueryParams& p, std::string_view name) {
  const std::string* v = p.Get(name);
  return v ? *v : std::string();
}

// IAM returns documents URL-encoded (RFC 3986); clients decode them.
std::string EncodeDocument(std::string_view document) { return UriEncode(document, /*keep_slash=*/false); }

void AddPolicy(http::XmlNode node, const ManagedPolicy& p) {
  node.Add("PolicyName", p.name).Add("PolicyId", p.id).Add("Arn", p.arn).Add("Path", p.path)
      .Add("DefaultVersionId", p.default_version).Add("AttachmentCount", p.attachment_count)
      .Add("PermissionsBoundaryUsageCount", uint64_t{0}).AddBool("IsAttachable", true);
  if (!p.description.empty()) node.Add("Description", p.description);
  node.Add("CreateDate", FormatIso8601(p.created)).Add("UpdateDate", FormatIso8601(p.updated));
}

void AddVersion(http::XmlNode node, const PolicyVersion& v, bool with_document) {
  if (with_document) node.Add("Document", EncodeDocument(v.document));
  node.Add("VersionId", v.version_id).AddBool("IsDefaultVersion", v.is_default)
      .Add("CreateDate", FormatIso8601(v.created));
}

class Responder {
 public:
  Responder(std::string_view action, const std::string& request_id)
      : doc_(std::string(action) + "Response", kIamNamespace), action_(action), request_id_(request_id) {}
  // The <ActionResult> element, created on first use.
  http::XmlNode Result() {
    if (!result_) result_ = doc_.root().Child(std::string(action_) + "Result").raw();
    return http::XmlNode(result_);
  }
  std::string Finish() {
    doc_.root().Child("ResponseMetadata").Add("RequestId", request_id_);
    return doc_.Render();
  }

 private:
  http::XmlDocument doc_;
  std::string_view action_;
  const std::string& request_id_;
  pugi::xml_node result_;
};

bool Flag(const http::QueryParams& p, std::string_view name) { return Param(p, name) == "true"; }

}  // namespace

bool IsPolicyAction(std::string_view action) {
  return std::find(kPolicyActions.begin(), kPolicyActions.end(), action) != kPolicyActions.end();
}

Result<std::string> RunPolicyAction(std::string_view action, const http::QueryParams& p, const std::string& account,
                                    const std::string& request_id, IdentityStore& identities, PolicyStore& policies) {
  Responder out(action, request_id);
  const std::string arn = Param(p, "PolicyArn");
  const std::string user = Param(p, "UserName");
  // A user's policies need the user.
  if (action.ends_with("UserPolicy") || action.ends_with("UserPolicies")) {
    ANNEX_RETURN_IF_ERROR(identities.GetUser(account, user).status());
  }

  if (action == "CreatePolicy") {
    ANNEX_ASSIGN_OR_RETURN(ManagedPolicy m, policies.CreatePolicy(account, Param(p, "PolicyName"), Param(p, "Path"),
                                                                  Param(p, "Description"), Param(p, "PolicyDocument")));
    AddPolicy(out.Result().Child("Policy"), m);
  } else if (action == "GetPolicy") {
    ANNEX_ASSIGN_OR_RETURN(ManagedPolicy m, policies.GetPolicy(account, arn));
    AddPolicy(out.Result().Child("Policy"), m);
  } else if (action == "DeletePolicy") {
    ANNEX_RETURN_IF_ERROR(policies.DeletePolicy(account, arn));
  } else if (action == "ListPolicies") {
    std::string scope = Param(p, "Scope");
    PolicyScope s = scope == "AWS" ? PolicyScope::kAws : scope == "Local" ? PolicyScope::kLocal : PolicyScope::kAll;
    ANNEX_ASSIGN_OR_RETURN(auto list, policies.ListPolicies(account, s, Flag(p, "OnlyAttached")));
    std::string prefix = p.Get("PathPrefix") ? Param(p, "PathPrefix") : "/";
    auto node = out.Result().Child("Policies");
    for (const auto& m : list) {
      if (m.path.starts_with(prefix)) AddPolicy(node.Child("member"), m);
    }
    out.Result().AddBool("IsTruncated", false);
  } else if (action == "CreatePolicyVersion") {
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, policies.CreatePolicyVersion(account, arn, Param(p, "PolicyDocument"),
                                                                         Flag(p, "SetAsDefault")));
    AddVersion(out.Result().Child("PolicyVersion"), v, false);
  } else if (action == "GetPolicyVersion") {
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, policies.GetPolicyVersion(account, arn, Param(p, "VersionId")));
    AddVersion(out.Result().Child("PolicyVersion"), v, true);
  } else if (action == "DeletePolicyVersion") {
    ANNEX_RETURN_IF_ERROR(policies.DeletePolicyVersion(account, arn, Param(p, "VersionId")));
  } else if (action == "SetDefaultPolicyVersion") {
    ANNEX_RETURN_IF_ERROR(policies.SetDefaultPolicyVersion(account, arn, Param(p, "VersionId")));
  } else if (action == "ListPolicyVersions") {
    ANNEX_ASSIGN_OR_RETURN(auto versions, policies.ListPolicyVersions(account, arn));
    std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) { return a.created > b.created; });
    auto node = out.Result().Child("Versions");
    for (const auto& v : versions) AddVersion(node.Child("member"), v, false);
    out.Result().AddBool("IsTruncated", false);
  } else if (action == "ListEntitiesForPolicy") {
    ANNEX_ASSIGN_OR_RETURN(auto entities, policies.ListEntitiesForPolicy(account, arn));
    auto groups = out.Result().Child("PolicyGroups");
    auto users = out.Result().Child("PolicyUsers");
    auto roles = out.Result().Child("PolicyRoles");
    for (const auto& [type, name] : entities) {
      if (type == EntityType::kUser) {
        auto u = identities.GetUser(account, name);
        users.Child("member").Add("UserName", name).Add("UserId", u.ok() ? u->user_id : std::string());
      } else if (type == EntityType::kGroup) {
        groups.Child("member").Add("GroupName", name);
      } else {
        roles.Child("member").Add("RoleName", name);
      }
    }
    out.Result().AddBool("IsTruncated", false);
  } else if (action == "AttachUserPolicy") {
    ANNEX_RETURN_IF_ERROR(policies.AttachPolicy(account, EntityType::kUser, user, arn));
  } else if (action == "DetachUserPolicy") {
    ANNEX_RETURN_IF_ERROR(policies.DetachPolicy(account, EntityType::kUser, user, arn));
  } else if (action == "ListAttachedUserPolicies") {
    ANNEX_ASSIGN_OR_RETURN(auto attached, policies.ListAttachedPolicies(account, EntityType::kUser, user));
    std::string prefix = p.Get("PathPrefix") ? Param(p, "PathPrefix") : "/";
    auto node = out.Result().Child("AttachedPolicies");
    for (const auto& m : attached) {
      if (m.path.starts_with(prefix)) node.Child("member").Add("PolicyName", m.name).Add("PolicyArn", m.arn);
    }
    out.Result().AddBool("IsTruncated", false);
  } else if (action == "PutUserPolicy") {
    ANNEX_RETURN_IF_ERROR(
        policies.PutInlinePolicy(account, EntityType::kUser, user, Param(p, "PolicyName"), Param(p, "PolicyDocument")));
  } else if (action == "GetUserPolicy") {
    ANNEX_ASSIGN_OR_RETURN(std::string doc,
                           policies.GetInlinePolicy(account, EntityType::kUser, user, Param(p, "PolicyName")));
    out.Result().Add("UserName", user).Add("PolicyName", Param(p, "PolicyName")).Add("PolicyDocument", EncodeDocument(doc));
  } else if (action == "DeleteUserPolicy") {
    ANNEX_RETURN_IF_ERROR(policies.DeleteInlinePolicy(account, EntityType::kUser, user, Param(p, "PolicyName")));
  } else if (action == "ListUserPolicies") {
    ANNEX_ASSIGN_OR_RETURN(auto names, policies.ListInlinePolicies(account, EntityType::kUser, user));
    auto node = out.Result().Child("PolicyNames");
    for (const auto& n : names) node.Add("member", n);
    out.Result().AddBool("IsTruncated", false);
  } else {
    return Status(StatusCode::kInvalidArgument, "Could not find operation " + std::string(action), "InvalidAction");
  }
  return out.Finish();
}

}  // namespace annex::iam
