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
  if (is("aws:PrincipalType")) return Values{p.anonymous ? "Anonymous" : p.is_root() ? "Account" : "User"};
  if (p.anonymous) return std::nullopt;
  if (is("aws:PrincipalArn")) return Values{p.arn};
  if (is("aws:PrincipalAccount")) return Values{p.account_id};
  if (is("aws:userid") && !p.user_id.empty()) return Values{p.user_id};
  if (is("aws:username") && !p.is_root()) return Values{p.user_name};
  return std::nullopt;
}

}  // namespace

void AddGlobalKeys(const service::RequestContext& ctx, policy::RequestContext& context) {
  // `ctx` outlives the evaluation the context is made for.
  context.SetResolver([&ctx](std::string_view key) { return GlobalKey(ctx, key); });
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
