#include "appliance/iam/sts_service.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/iam/iam_params.h"
#include "appliance/iam/iam_response.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/policy/policy.h"
#include "appliance/service/query_protocol.h"
#include "appliance/service/refusal_log.h"

namespace annex::iam {
namespace {

constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr std::chrono::seconds kDefaultRoleSession{3600};
constexpr std::chrono::seconds kRoleChainingMax{3600};
constexpr std::chrono::seconds kUserSessionDefault{43200};
constexpr std::chrono::seconds kRootSessionMax{3600};

using Tags = std::vector<std::pair<std::string, std::string>>;

Tags SessionTags(const http::QueryParams& p) {
  Tags tags;
  for (int i = 1; i <= 50; ++i) {
    const std::string* key = p.Get("Tags.member." + std::to_string(i) + ".Key");
    if (!key) break;
    tags.emplace_back(*key, Param(p, "Tags.member." + std::to_string(i) + ".Value"));
  }
  return tags;
}

std::vector<std::string> PolicyArns(const http::QueryParams& p) {
  std::vector<std::string> arns;
  for (int i = 1; i <= 10; ++i) {
    const std::string* arn = p.Get("PolicyArns.member." + std::to_string(i) + ".arn");
    if (!arn) break;
    arns.push_back(*arn);
  }
  return arns;
}

void AddCredentials(http::XmlNode node, const TemporaryCredentials& c) {
  node.Add("AccessKeyId", c.access_key_id).Add("SecretAccessKey", c.secret_access_key)
      .Add("SessionToken", c.session_token).Add("Expiration", FormatIso8601(c.expiration));
}

Status Denied(const auth::Principal& caller, std::string_view action, std::string_view resource) {
  return http::ApiStatus("AccessDenied", "User: " + caller.arn + " is not authorized to perform: " +
                                             std::string(action) + " on resource: " + std::string(resource));
}

class StsService final : public service::Service {
 public:
  StsService(IdentityStore& identities, RoleSessions& sessions, const service::Authorizer* authorizer)
      : identities_(identities), sessions_(sessions), authorizer_(authorizer) {}

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "sts";
      d.signing_names = {"sts"};
      d.protocol = service::Protocol::kQuery;
      d.auth = service::AuthMode::kSigV4;
      d.errors = {{"MalformedPolicyDocument", 400}, {"PackedPolicyTooLarge", 400}, {"RegionDisabledException", 403}};
      return d;
    }();
    return d;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    Result<http::QueryParams> params = co_await service::ReadQueryRequest(ctx);
    if (!params.ok()) co_return params.status();
    const std::string& action = *params->Get("Action");
    ctx.operation = IsSupportedStsAction(action) ? action : "InvalidAction";
    Result<std::string> result = Run(action, *params, ctx);
    if (!result.ok()) {
      service::LogRefusal(ctx, "sts:" + ctx.operation, Param(*params, "RoleArn"), result.status());
      co_return result.status();
    }
    co_return co_await service::SendQueryResponse(ctx, std::move(*result));
  }

 private:
  Result<std::string> Run(const std::string& action, const http::QueryParams& p, service::RequestContext& ctx) {
    if (ctx.principal.anonymous) return http::ApiStatus("MissingAuthenticationToken", "Request must be signed");
    ANNEX_RETURN_IF_ERROR(ValidateStsParams(action, p));
    Responder out(action, ctx.request.request_id, kStsNamespace);
    if (action == "GetCallerIdentity") {
      out.Result().Add("UserId", ctx.principal.user_id).Add("Account", ctx.principal.account_id)
          .Add("Arn", ctx.principal.arn);
    } else if (action == "AssumeRole") {
      ANNEX_RETURN_IF_ERROR(AssumeRole(p, ctx, out));
    } else {
      ANNEX_RETURN_IF_ERROR(GetSessionToken(p, ctx, out));
    }
    return out.Finish();
  }

  // The role RoleArn names, if the caller may learn that it exists: an
  // unknown role is refused like a forbidden one.
  Result<Role> TargetRole(const std::string& arn, const auth::Principal& caller) {
    Status denied = Denied(caller, "sts:AssumeRole", arn);
    auto parsed = ParseRoleArn(arn);
    if (!parsed) return http::ApiStatus("ValidationError", arn + " is invalid");
    auto role = identities_.GetRole(parsed->first, parsed->second);
    if (!role.ok() || role->arn != arn) return denied;
    return std::move(*role);
  }

  // The trust policy, as the resource policy of sts:AssumeRole (and
  // sts:TagSession when tags are passed) on the role.
  Status CheckTrust(const Role& role, const http::QueryParams& p, const Tags& tags, service::RequestContext& ctx) {
    auto trust = policy::ParsePolicy(role.trust_policy, policy::PolicyKind::kTrust);
    if (!trust.ok() || !authorizer_) return Denied(ctx.principal, "sts:AssumeRole", role.arn);
    std::vector<std::string> actions = {"sts:AssumeRole"};
    if (!tags.empty()) actions.push_back("sts:TagSession");
    for (const std::string& action : actions) {
      service::AccessRequest request;
      request.action = action;
      request.resource = role.arn;
      request.resource_account = role.account_id;
      request.resource_policy = &*trust;
      request.resource_policy_required = true;
      if (const std::string* id = p.Get("ExternalId")) request.context.Set("sts:ExternalId", *id);
      request.context.Set("sts:RoleSessionName", Param(p, "RoleSessionName"));
      std::vector<std::string> keys;
      for (const auto& [k, v] : tags) {
        request.context.Set("aws:RequestTag/" + k, v);
        keys.push_back(k);
      }
      if (!keys.empty()) request.context.SetAll("aws:TagKeys", std::move(keys));
      policy::AuthorizationRequest evaluated;
      policy::Verdict verdict = authorizer_->Check(ctx, request, &evaluated);
      if (!verdict.allowed()) return http::ApiStatus("AccessDenied", policy::DenialMessage(evaluated, verdict));
    }
    return Status::OK();
  }

  Status AssumeRole(const http::QueryParams& p, service::RequestContext& ctx, Responder& out) {
    const auth::Principal& caller = ctx.principal;
    const std::string arn = Param(p, "RoleArn");
    if (caller.is_root()) return http::ApiStatus("AccessDenied", "Roles may not be assumed by root accounts.");
    ANNEX_ASSIGN_OR_RETURN(Role role, TargetRole(arn, caller));
    Tags tags = SessionTags(p);
    ANNEX_RETURN_IF_ERROR(CheckTrust(role, p, tags, ctx));

    RoleSessionRequest request;
    request.role = &role;
    request.session_name = Param(p, "RoleSessionName");
    request.duration = kDefaultRoleSession;
    if (p.Get("DurationSeconds")) request.duration = std::chrono::seconds(std::stoi(Param(p, "DurationSeconds")));
    if (caller.is_role_session() && request.duration > kRoleChainingMax) {
      return http::ApiStatus("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
                                                "for roles assumed by role chaining.");
    }
    if (request.duration > std::chrono::seconds(role.max_session_seconds)) {
      return http::ApiStatus("ValidationError",
                             "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    }
    if (const std::string* doc = p.Get("Policy")) {
      ANNEX_RETURN_IF_ERROR(policy::ParsePolicy(*doc, policy::PolicyKind::kIdentity).status());
      request.inline_policy = *doc;
    }
    request.policy_arns = PolicyArns(p);
    request.tags = std::move(tags);
    ANNEX_ASSIGN_OR_RETURN(TemporaryCredentials c, sessions_.Open(request));

    auto result = out.Result();
    AddCredentials(result.Child("Credentials"), c);
    result.Child("AssumedRoleUser").Add("AssumedRoleId", role.role_id + ":" + request.session_name)
        .Add("Arn", "arn:aws:sts::" + role.account_id + ":assumed-role/" + role.name + "/" + request.session_name);
    if (!request.inline_policy.empty() || !request.policy_arns.empty()) {
      size_t packed = request.inline_policy.size() * 100 / 2048;  // percent of the packed limit
      result.Add("PackedPolicySize", static_cast<uint64_t>(std::min<size_t>(packed, 100)));
    }
    return Status::OK();
  }

  Status GetSessionToken(const http::QueryParams& p, service::RequestContext& ctx, Responder& out) {
    const auth::Principal& caller = ctx.principal;
    if (caller.session) {
      return http::ApiStatus("AccessDenied", "Cannot call GetSessionToken with session credentials");
    }
    std::chrono::seconds duration = caller.is_root() ? kRootSessionMax : kUserSessionDefault;
    if (p.Get("DurationSeconds")) duration = std::chrono::seconds(std::stoi(Param(p, "DurationSeconds")));
    // A root's session lasts at most an hour, whatever it asks for.
    if (caller.is_root()) duration = std::min(duration, kRootSessionMax);
    SessionSpec spec;
    spec.account_id = caller.account_id;
    spec.user_name = caller.user_name;
    spec.duration = duration;
    ANNEX_ASSIGN_OR_RETURN(TemporaryCredentials c, identities_.CreateSession(spec));
    AddCredentials(out.Result().Child("Credentials"), c);
    return Status::OK();
  }

  IdentityStore& identities_;
  RoleSessions& sessions_;
  const service::Authorizer* authorizer_;
};

}  // namespace

std::unique_ptr<service::Service> NewStsService(IdentityStore& identities, RoleSessions& sessions,
                                                const service::Authorizer* authorizer) {
  return std::make_unique<StsService>(identities, sessions, authorizer);
}

}  // namespace annex::iam
