#include "appliance/iam/policy_authorizer.h"

#include "appliance/core/log.h"
#include "appliance/core/strings.h"

namespace annex::iam {
namespace {

// "203.0.113.7:51234" or "[2001:db8::1]:443" → the address alone.
std::string AddressOnly(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    size_t close = remote.find(']');
    return std::string(remote.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  size_t colon = remote.rfind(':');
  if (colon != std::string_view::npos && remote.find(':') == colon) return std::string(remote.substr(0, colon));
  return std::string(remote);
}

policy::Caller CallerOf(const auth::Principal& p) {
  policy::Caller c;
  if (p.anonymous) return c;
  c.account_id = p.account_id;
  c.arn = p.arn;
  if (p.is_role_session()) {
    c.type = policy::CallerType::kRoleSession;
    c.role_arn = p.role_arn;
  } else {
    c.type = p.is_root() ? policy::CallerType::kRoot : policy::CallerType::kUser;
  }
  return c;
}

std::string_view PrincipalType(const auth::Principal& p) {
  if (p.anonymous) return "Anonymous";
  if (p.is_role_session()) return "AssumedRole";
  return p.is_root() ? "Account" : "User";
}

std::optional<std::vector<std::string>> GlobalKey(const service::RequestContext& ctx, std::string_view key) {
  auto is = [&](std::string_view name) { return EqualsIgnoreCase(key, name); };
  using Values = std::vector<std::string>;
  const auth::Principal& p = ctx.principal;
  if (is("aws:CurrentTime")) return Values{FormatIso8601(ctx.clock.Now())};
  if (is("aws:EpochTime")) {
    return Values{std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.Now().time_since_epoch()).count())};
  }
  if (is("aws:SecureTransport")) return Values{ctx.request.tls ? "true" : "false"};
  if (is("aws:RequestedRegion")) return Values{ctx.region};
  if (is("aws:MultiFactorAuthPresent")) return Values{"false"};
  if (is("aws:SourceIp")) {
    std::string ip = AddressOnly(ctx.request.remote_address);
    if (ip.empty()) return std::nullopt;
    return Values{std::move(ip)};
  }
  if (is("aws:PrincipalType")) return Values{std::string(PrincipalType(p))};
  if (p.anonymous) return std::nullopt;
  // A role session's aws:PrincipalArn is its role's ARN, not the session's.
  if (is("aws:PrincipalArn")) return Values{p.is_role_session() ? p.role_arn : p.arn};
  if (is("aws:PrincipalAccount")) return Values{p.account_id};
  if (is("aws:userid") && !p.user_id.empty()) return Values{p.user_id};
  if (is("aws:username") && p.is_user()) return Values{p.user_name};
  constexpr std::string_view kTagPrefix = "aws:PrincipalTag/";
  if (p.session && key.size() > kTagPrefix.size() && EqualsIgnoreCase(key.substr(0, kTagPrefix.size()), kTagPrefix)) {
    std::string_view tag = key.substr(kTagPrefix.size());
    for (const auto& [k, v] : p.session->tags) {
      if (EqualsIgnoreCase(k, tag)) return Values{v};
    }
  }
  return std::nullopt;
}

}  // namespace

void AddGlobalKeys(const service::RequestContext& ctx, policy::RequestContext& context) {
  // `ctx` outlives the evaluation the context is made for.
  context.SetResolver([&ctx](std::string_view key) { return GlobalKey(ctx, key); });
}

bool CollectEntityPolicies(const IdentityStore& identities, const PolicyStore& policies, const std::string& account,
                           EntityType type, const std::string& name, CompiledPolicyHold& hold,
                           policy::PolicySet& set) {
  auto add = [&](EntityType t, const std::string& entity) {
    auto compiled = policies.IdentityPolicies(account, t, entity);
    if (!compiled.ok()) {
      log::Error("iam: reading identity policies failed", {{"entity", std::string(EntityTypeName(t)) + " " + entity},
                                                          {"error", compiled.status().ToString()}});
      return false;
    }
    for (const auto& policy : (*compiled)->policies) set.identity.push_back(&policy);
    // Groups have no boundary; a user's or role's own applies.
    if ((*compiled)->boundary) set.boundary = &*(*compiled)->boundary;
    hold.push_back(std::move(*compiled));
    return true;
  };
  if (!add(type, name)) return false;
  if (type != EntityType::kUser) return true;
  auto groups = identities.GroupNamesOfUser(account, name);
  if (!groups) return false;
  for (const std::string& group : *groups) {
    if (!add(EntityType::kGroup, group)) return false;
  }
  return true;
}

policy::Verdict PolicyAuthorizer::Check(const service::RequestContext& ctx, service::AccessRequest& request,
                                        policy::AuthorizationRequest* evaluated) const {
  policy::AuthorizationRequest r;
  r.caller = CallerOf(ctx.principal);
  r.action = std::move(request.action);
  r.resource = std::move(request.resource);
  r.resource_account = std::move(request.resource_account);
  r.context = std::move(request.context);
  AddGlobalKeys(ctx, r.context);

  policy::PolicySet set;
  set.resource = request.resource_policy;
  set.resource_required = request.resource_policy_required;
  CompiledPolicyHold hold;
  const auth::Principal& p = ctx.principal;
  bool read = true;
  if (p.is_role_session()) read = CollectEntityPolicies(identities_, policies_, p.account_id, EntityType::kRole,
                                                        p.role_name, hold, set);
  if (p.is_user()) read = CollectEntityPolicies(identities_, policies_, p.account_id, EntityType::kUser, p.user_name,
                                                hold, set);
  // Policies that cannot be read allow nothing: a failure never widens access.
  if (!read) {
    if (evaluated) *evaluated = std::move(r);
    return policy::Verdict{policy::Decision::kImplicitDeny, policy::PolicyType::kIdentity};
  }
  if (const auth::Session* session = ctx.principal.session.get(); session && session->policies) {
    set.has_session_policies = true;
    for (const auto& policy : *session->policies) set.session.push_back(&policy);
  }
  policy::Verdict v = policy::Evaluate(r, set);
  if (evaluated) *evaluated = std::move(r);
  return v;
}

}  // namespace annex::iam
