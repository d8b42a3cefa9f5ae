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
  c.type = p.is_root() ? policy::CallerType::kRoot : policy::CallerType::kUser;
  return c;
}

}  // namespace

void AddGlobalKeys(const service::RequestContext& ctx, policy::RequestContext& context) {
  const auth::Principal& p = ctx.principal;
  auto now = ctx.clock.Now();
  context.Set("aws:CurrentTime", FormatIso8601(now));
  context.Set("aws:EpochTime",
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  context.Set("aws:SecureTransport", ctx.request.tls ? "true" : "false");
  context.Set("aws:RequestedRegion", ctx.region);
  context.Set("aws:MultiFactorAuthPresent", "false");
  if (std::string ip = AddressOnly(ctx.request.remote_address); !ip.empty()) context.Set("aws:SourceIp", ip);
  if (p.anonymous) {
    context.Set("aws:PrincipalType", "Anonymous");
    return;
  }
  context.Set("aws:PrincipalArn", p.arn);
  context.Set("aws:PrincipalAccount", p.account_id);
  context.Set("aws:PrincipalType", p.is_root() ? "Account" : "User");
  if (!p.user_id.empty()) context.Set("aws:userid", p.user_id);
  if (!p.is_root()) context.Set("aws:username", p.user_name);
}

policy::Verdict PolicyAuthorizer::Check(const service::RequestContext& ctx, service::AccessRequest& request,
                                        policy::AuthorizationRequest* evaluated) const {
  policy::AuthorizationRequest r;
  r.caller = CallerOf(ctx.principal);
  r.action = request.action;
  r.resource = request.resource;
  r.resource_account = request.resource_account;
  r.context = std::move(request.context);
  AddGlobalKeys(ctx, r.context);

  policy::PolicySet set;
  set.resource = request.resource_policy;
  std::shared_ptr<const CompiledPolicies> identity;
  if (r.caller.type == policy::CallerType::kUser) {
    auto compiled = policies_.IdentityPolicies(ctx.principal.account_id, EntityType::kUser, ctx.principal.user_name);
    if (!compiled.ok()) {
      // Policies that cannot be read allow nothing: a failure never widens access.
      log::Error("iam: reading a user's policies failed", {{"user", ctx.principal.arn},
                                                           {"error", compiled.status().ToString()}});
    } else {
      identity = std::move(*compiled);
      for (const auto& p : identity->policies) set.identity.push_back(&p);
    }
  }
  policy::Verdict v = policy::Evaluate(r, set);
  if (evaluated) *evaluated = std::move(r);
  return v;
}

}  // namespace annex::iam
