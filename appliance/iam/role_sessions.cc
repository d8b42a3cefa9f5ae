#include "appliance/iam/role_sessions.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/policy/wildcard.h"

namespace annex::iam {
namespace {

bool NamesService(const policy::Statement& s, std::string_view service_principal) {
  if (!s.principal) return false;
  bool named = s.principal->everyone;
  for (const std::string& svc : s.principal->services) named = named || svc == service_principal;
  return named != s.not_principal;
}

bool CoversAssumeRole(const policy::Statement& s) {
  bool listed = false;
  for (const std::string& a : s.actions) listed = listed || policy::WildcardMatch(a, "sts:assumerole", true);
  return listed != s.not_action;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> ParseRoleArn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (!arn.starts_with(kPrefix)) return std::nullopt;
  arn.remove_prefix(kPrefix.size());
  size_t colon = arn.find(':');
  if (colon != 12 || arn.substr(0, 12).find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::string_view resource = arn.substr(colon + 1);
  if (!resource.starts_with("role/")) return std::nullopt;
  std::string_view name = resource.substr(resource.rfind('/') + 1);
  if (!IsValidRoleName(name)) return std::nullopt;
  return std::make_pair(std::string(arn.substr(0, 12)), std::string(name));
}

bool TrustsService(const policy::Policy& trust, std::string_view service_principal) {
  bool allowed = false;
  for (const policy::Statement& s : trust.statements) {
    if (!NamesService(s, service_principal) || !CoversAssumeRole(s)) continue;
    if (s.effect == policy::Effect::kDeny) return false;
    allowed = allowed || s.conditions.empty();
  }
  return allowed;
}

Result<TemporaryCredentials> RoleSessions::Open(const RoleSessionRequest& request) {
  const Role& role = *request.role;
  SessionSpec spec;
  spec.account_id = role.account_id;
  spec.role = &role;
  spec.session_name = request.session_name;
  spec.duration = request.duration;
  if (!request.inline_policy.empty()) spec.policies.push_back(request.inline_policy);
  for (const std::string& arn : request.policy_arns) {
    auto managed = policies_.GetPolicy(role.account_id, arn);
    if (!managed.ok()) {
      return http::ApiStatus("InvalidParameterValue", "The policy " + arn + " does not exist or is not attachable.");
    }
    ANNEX_ASSIGN_OR_RETURN(PolicyVersion v, policies_.GetPolicyVersion(role.account_id, arn, managed->default_version));
    spec.policies.push_back(std::move(v.document));
  }
  spec.tags = request.tags;
  for (const auto& [k, v] : role.tags) {
    bool overridden = false;
    for (const auto& t : request.tags) overridden = overridden || EqualsIgnoreCase(t.first, k);
    if (!overridden) spec.tags.emplace_back(k, v);
  }
  return identities_.CreateSession(spec);
}

Result<service::RoleCredentials> RoleSessions::Mint(const service::RoleGrant& grant) {
  auto parsed = ParseRoleArn(grant.role_arn);
  if (!parsed || parsed->first != grant.account_id) {
    return Status(StatusCode::kNotFound, "no role " + grant.role_arn + " in account " + grant.account_id);
  }
  ANNEX_ASSIGN_OR_RETURN(Role role, identities_.GetRole(parsed->first, parsed->second));
  if (role.arn != grant.role_arn) return Status(StatusCode::kNotFound, "no role " + grant.role_arn);
  auto trust = policy::ParsePolicy(role.trust_policy, policy::PolicyKind::kTrust);
  if (!trust.ok() || !TrustsService(*trust, grant.service_principal)) {
    return http::ApiStatus("AccessDenied", grant.service_principal + " is not authorized to perform: "
                                               "sts:AssumeRole on resource: " + grant.role_arn);
  }
  RoleSessionRequest request;
  request.role = &role;
  request.session_name = grant.session_name;
  request.duration = std::min<std::chrono::seconds>(grant.duration, std::chrono::seconds(role.max_session_seconds));
  ANNEX_ASSIGN_OR_RETURN(TemporaryCredentials c, Open(request));
  return service::RoleCredentials{c.access_key_id, c.secret_access_key, c.session_token, c.expiration};
}

}  // namespace annex::iam
