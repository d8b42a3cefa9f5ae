#include "appliance/iam/iam_service.h"

#include "appliance/core/strings.h"
#include "appliance/http/xml.h"
#include "appliance/iam/iam_access.h"
#include "appliance/iam/iam_entity_actions.h"
#include "appliance/iam/iam_paging.h"
#include "appliance/iam/iam_params.h"
#include "appliance/iam/iam_policy_actions.h"
#include "appliance/iam/iam_response.h"
#include "appliance/iam/iam_simulate.h"
#include "appliance/service/query_protocol.h"
#include "appliance/service/refusal_log.h"

namespace annex::iam {
namespace {

class IamService final : public service::Service {
 public:
  IamService(IdentityStore& identities, PolicyStore& policies, const service::Authorizer* authorizer)
      : identities_(identities), policies_(policies), authorizer_(authorizer) {}

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "iam";
      d.signing_names = {"iam"};
      d.protocol = service::Protocol::kQuery;
      d.auth = service::AuthMode::kSigV4;
      d.errors.assign(kIamErrors.begin(), kIamErrors.end());
      return d;
    }();
    return d;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    Result<http::QueryParams> params = co_await service::ReadQueryRequest(ctx);
    if (!params.ok()) co_return params.status();
    const std::string& action = *params->Get("Action");
    // Unknown names stay out of metrics labels: the client chooses them.
    ctx.operation = IsSupportedIamAction(action) ? action : "InvalidAction";
    Result<std::string> result = Run(action, *params, ctx);
    if (!result.ok()) co_return result.status();
    co_return co_await service::SendQueryResponse(ctx, std::move(*result));
  }

 private:
  using Params = http::QueryParams;

  // Validation, then the access rule (iam_access.h), then the action; each
  // refusal is logged. No parameter is acted on before it is validated.
  Result<std::string> Run(const std::string& action, const Params& p, service::RequestContext& ctx) {
    const std::string* named = p.Get("UserName");
    if (ctx.principal.anonymous) {
      Status denied = http::ApiStatus("AccessDenied", "Request must be signed");
      service::LogRefusal(ctx, "iam:" + action, named ? "UserName=" + *named : "", denied);
      return denied;
    }
    // Like AWS: a user's own session (GetSessionToken) without MFA may not
    // call IAM; the appliance has no MFA.
    if (ctx.principal.session && !ctx.principal.is_role_session()) {
      Status denied = http::ApiStatus("AccessDenied", "Cannot call IAM APIs with session credentials obtained "
                                                      "by GetSessionToken without MFA");
      service::LogRefusal(ctx, "iam:" + action, "", denied);
      return denied;
    }
    if (Status valid = ValidateIamParams(action, p); !valid.ok()) {
      service::LogRefusal(ctx, "iam:" + action, named ? "UserName=" + *named : "", valid);
      return valid;
    }
    Identity target = TargetIdentity(ctx.principal, action, p);
    if (Status allowed = AuthorizeIamAction(ctx, authorizer_, action, target, p); !allowed.ok()) {
      service::LogRefusal(ctx, "iam:" + action, IamResourceArn(action, target, p), allowed);
      return allowed;
    }
    return Dispatch(action, p, target, ctx);
  }

  Result<std::string> Dispatch(const std::string& action, const Params& p, const Identity& target,
                               service::RequestContext& ctx) {
    const std::string& account = target.account_id();
    if (IsPolicyAction(action)) {
      return RunPolicyAction(action, p, account, ctx.request.request_id, identities_, policies_);
    }
    if (IsSimulateAction(action)) {
      return RunSimulateAction(action, p, account, ctx.request.request_id, identities_, policies_, ctx.clock);
    }
    if (IsEntityAction(action)) {
      return RunEntityAction(action, p, account, ctx.request.request_id, identities_, policies_);
    }
    if (action == "CreateUser") return CreateUser(account, target.user_name(), p, ctx);
    if (action == "GetUser") return GetUser(target, ctx);
    if (action == "ListUsers") return ListUsers(account, p, ctx);
    if (action == "DeleteUser") return DeleteUser(account, target.user_name(), ctx);
    if (action == "CreateAccessKey") return CreateAccessKey(target, ctx);
    if (action == "ListAccessKeys") return ListAccessKeys(target, ctx);
    if (action == "DeleteAccessKey")
      return Simple(action, identities_.DeleteAccessKey(target, Param(p, "AccessKeyId")), ctx);
    if (action == "UpdateAccessKey") {
      bool active = Param(p, "Status") == "Active";  // validated: Active or Inactive
      return Simple(action, identities_.SetAccessKeyActive(target, Param(p, "AccessKeyId"), active), ctx);
    }
    return Status(StatusCode::kInvalidArgument, "Could not find operation " + action, "InvalidAction");
  }

  static std::string Finish(http::XmlDocument& doc, const service::RequestContext& ctx) {
    doc.root().Child("ResponseMetadata").Add("RequestId", ctx.request.request_id);
    return doc.Render();
  }

  Result<std::string> Simple(std::string_view action, Status s, const service::RequestContext& ctx) {
    ANNEX_RETURN_IF_ERROR(s);
    http::XmlDocument doc(std::string(action) + "Response", kIamNamespace);
    return Finish(doc, ctx);
  }

  Result<std::optional<std::string>> BoundaryOf(const std::string& account, const std::string& user) const {
    return policies_.GetBoundary(account, EntityType::kUser, user);
  }

  Result<std::string> CreateUser(const std::string& account, const std::string& user, const Params& p,
                                 service::RequestContext& ctx) {
    std::optional<std::string> boundary;
    if (const std::string* arn = p.Get("PermissionsBoundary")) {
      ANNEX_RETURN_IF_ERROR(policies_.GetPolicy(account, *arn).status());
      boundary = *arn;
    }
    ANNEX_ASSIGN_OR_RETURN(User u, identities_.CreateUser(account, user));
    if (boundary) ANNEX_RETURN_IF_ERROR(policies_.SetBoundary(account, EntityType::kUser, user, *boundary));
    http::XmlDocument doc("CreateUserResponse", kIamNamespace);
    AddUserXml(doc.root().Child("CreateUserResult").Child("User"), u, boundary);
    return Finish(doc, ctx);
  }

  Result<std::string> DeleteUser(const std::string& account, const std::string& user, service::RequestContext& ctx) {
    ANNEX_ASSIGN_OR_RETURN(bool has_policies, policies_.HasPolicies(account, EntityType::kUser, user));
    if (has_policies) {
      return Status(StatusCode::kFailedPrecondition, "Cannot delete entity, must delete policies first.",
                    "DeleteConflict");
    }
    ANNEX_RETURN_IF_ERROR(identities_.DeleteUser(account, user));
    return Simple("DeleteUser", policies_.DeleteBoundary(account, EntityType::kUser, user), ctx);
  }

  Result<std::string> GetUser(const Identity& target, service::RequestContext& ctx) {
    http::XmlDocument doc("GetUserResponse", kIamNamespace);
    auto node = doc.root().Child("GetUserResult").Child("User");
    if (target.is_root()) {
      node.Add("UserId", target.account_id()).Add("Arn", target.Arn());
      return Finish(doc, ctx);
    }
    ANNEX_ASSIGN_OR_RETURN(User u, identities_.GetUser(target.account_id(), target.user_name()));
    ANNEX_ASSIGN_OR_RETURN(auto boundary, BoundaryOf(u.account_id, u.name));
    AddUserXml(node, u, boundary);
    return Finish(doc, ctx);
  }

  Result<std::string> ListUsers(const std::string& account, const Params& p, service::RequestContext& ctx) {
    ANNEX_ASSIGN_OR_RETURN(auto users, identities_.ListUsers(account));
    http::XmlDocument doc("ListUsersResponse", kIamNamespace);
    auto result = doc.root().Child("ListUsersResult");
    auto list = result.Child("Users");
    auto page = Paginate(users, p, [](const User& u) { return u.name; });
    for (const User& u : page.items) {
      ANNEX_ASSIGN_OR_RETURN(auto boundary, BoundaryOf(account, u.name));
      AddUserXml(list.Child("member"), u, boundary);
    }
    page.Finish(result);
    return Finish(doc, ctx);
  }

  Result<std::string> CreateAccessKey(const Identity& owner, service::RequestContext& ctx) {
    ANNEX_ASSIGN_OR_RETURN(AccessKey k, identities_.CreateAccessKey(owner));
    http::XmlDocument doc("CreateAccessKeyResponse", kIamNamespace);
    auto node = doc.root().Child("CreateAccessKeyResult").Child("AccessKey");
    node.Add("UserName", owner.user_name()).Add("AccessKeyId", k.access_key_id).Add("Status", "Active")
        .Add("SecretAccessKey", k.secret_access_key).Add("CreateDate", FormatIso8601(k.created));
    return Finish(doc, ctx);
  }

  Result<std::string> ListAccessKeys(const Identity& owner, service::RequestContext& ctx) {
    ANNEX_ASSIGN_OR_RETURN(auto keys, identities_.ListAccessKeys(owner));
    http::XmlDocument doc("ListAccessKeysResponse", kIamNamespace);
    auto result = doc.root().Child("ListAccessKeysResult");
    auto list = result.Child("AccessKeyMetadata");
    for (const AccessKey& k : keys) {
      list.Child("member").Add("UserName", k.user_name).Add("AccessKeyId", k.access_key_id)
          .Add("Status", k.active ? "Active" : "Inactive").Add("CreateDate", FormatIso8601(k.created));
    }
    result.AddBool("IsTruncated", false);
    return Finish(doc, ctx);
  }

  IdentityStore& identities_;
  PolicyStore& policies_;
  const service::Authorizer* authorizer_;
};

}  // namespace

std::unique_ptr<service::Service> NewIamService(IdentityStore& identities, PolicyStore& policies,
                                                const service::Authorizer* authorizer) {
  return std::make_unique<IamService>(identities, policies, authorizer);
}

}  // namespace annex::iam
