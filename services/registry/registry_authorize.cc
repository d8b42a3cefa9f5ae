#include "services/registry/registry_authorize.h"

#include <memory>

#include "appliance/core/log.h"
#include "appliance/policy/policy.h"
#include "appliance/service/authorizer.h"
#include "services/registry/ecr_repository_policy.h"

namespace annex::registry {

bool IsPolicyManagement(std::string_view action) {
  return action == "ecr:GetRepositoryPolicy" || action == "ecr:SetRepositoryPolicy" ||
         action == "ecr:DeleteRepositoryPolicy";
}

Status AuthorizeRegistry(const Registry& registry, const service::RequestContext& ctx, const RegistryAccess& access) {
  const auth::Principal& caller = ctx.principal;
  const bool own_root = caller.is_root() && caller.account_id == access.account;
  const RepositoryRecord* repo = access.repository;
  const bool has_policy = repo && !repo->policy.empty();
  // Without a policy (the common case) nothing can bind the root: skip the evaluation.
  if (own_root && (!has_policy || IsPolicyManagement(access.action))) return Status::OK();
  std::shared_ptr<const policy::Policy> compiled;
  if (has_policy) {
    Result<std::shared_ptr<const policy::Policy>> r = CompileRepositoryPolicy(repo->policy);
    if (!r.ok()) {
      log::Error("registry: a stored repository policy does not compile",
                 {{"repository", repo->name}, {"error", r.status().ToString()}});
      return Status::Internal("repository policy unreadable");
    }
    compiled = std::move(*r);
  }
  const service::Authorizer* authorizer = registry.env.authorizer;
  if (!authorizer) {  // the engine alone (tests): each account acts only in its own registry
    if (caller.account_id == access.account) return Status::OK();
    return Status::PermissionDenied("User: " + caller.arn + " is not authorized to perform: " + access.action +
                                    " on resource: " + access.resource);
  }
  service::AccessRequest request;
  request.action = access.action;
  request.resource = access.resource;
  request.resource_account = access.account;
  request.resource_policy = compiled.get();
  policy::AuthorizationRequest evaluated;
  policy::Verdict verdict = authorizer->Check(ctx, request, &evaluated);
  if (verdict.allowed()) return Status::OK();
  return Status::PermissionDenied(policy::DenialMessage(evaluated, verdict));
}

}  // namespace annex::registry
