// Who a /v2/ caller is and what it may do: ECR tokens (or a SigV4
// signature the edge verified), the registry the Host names, and the ecr:*
// action of each call authorized on the repository's ARN with its
// repository policy.

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/policy/policy.h"
#include "appliance/service/authorizer.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"

namespace annex::registry {
namespace {

// Repository policies compiled once per document. Bounded: a registry has
// few distinct policies, and a full cache simply starts over.
class RepositoryPolicyCache {
 public:
  Result<std::shared_ptr<const policy::Policy>> For(const std::string& document) {
    {
      std::shared_lock lock(mu_);
      if (auto it = compiled_.find(document); it != compiled_.end()) return it->second;
    }
    Result<policy::Policy> parsed = policy::ParsePolicy(document, policy::PolicyKind::kResource);
    // ECR's repository policies usually name no Resource: the repository
    // itself is meant, which the trust form (no Resource) expresses.
    if (!parsed.ok()) parsed = policy::ParsePolicy(document, policy::PolicyKind::kTrust);
    if (!parsed.ok()) {
      log::Error("registry: a stored repository policy does not compile", {{"error", parsed.status().ToString()}});
      return Status::Internal("stored repository policy does not compile");
    }
    auto compiled = std::make_shared<const policy::Policy>(std::move(*parsed));
    std::unique_lock lock(mu_);
    if (compiled_.size() >= kMaxEntries) compiled_.clear();
    return compiled_.try_emplace(document, std::move(compiled)).first->second;
  }

 private:
  static constexpr size_t kMaxEntries = 1024;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const policy::Policy>> compiled_;
};

RepositoryPolicyCache& PolicyCache() {
  static RepositoryPolicyCache* cache = new RepositoryPolicyCache();  // never destroyed: used until exit
  return *cache;
}

Status NameUnknown(std::string_view name, std::string_view account) {
  return DistributionError("NAME_UNKNOWN", "The repository with name '" + std::string(name) +
                                               "' does not exist in the registry with id '" + std::string(account) +
                                               "'");
}

// Asks the authorizer; OK or DENIED with AWS's wording.
Status Ask(DistributionCall& call, std::string_view action, std::string resource, const policy::Policy* policy) {
  const auth::Principal& caller = call.ctx.principal;
  const bool own = caller.account_id == call.account;
  // The root of the registry's account is bound only by a policy's Deny.
  if (own && caller.is_root() && !policy) return Status::OK();
  const service::Authorizer* authorizer = call.registry.env.authorizer;
  if (!authorizer) return own ? Status::OK() : DistributionError("DENIED", "access denied");
  service::AccessRequest request;
  request.action = std::string(action);
  request.resource = std::move(resource);
  request.resource_account = call.account;
  request.resource_policy = policy;
  policy::AuthorizationRequest evaluated;
  policy::Verdict verdict = authorizer->Check(call.ctx, request, &evaluated);
  if (verdict.allowed()) return Status::OK();
  return DistributionError("DENIED", policy::DenialMessage(evaluated, verdict));
}

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Result<auth::Principal> AuthenticateDistribution(const Registry& registry, const service::RequestContext& ctx) {
  if (!ctx.principal.anonymous) return ctx.principal;  // SigV4, verified by the edge
  const std::string* authorization = ctx.request.headers.Get("authorization");
  if (!authorization || !registry.tokens) {
    return DistributionError("UNAUTHORIZED", "Not Authorized");
  }
  return registry.tokens->Authenticate(*authorization);
}

std::string AddressedAccount(const http::Request& request, std::string_view caller_account) {
  std::string host = request.HostWithoutPort();
  std::vector<std::string_view> labels = Split(host, '.');
  if (labels.size() >= 4 && IsAccountId(labels[0]) && labels[1] == "dkr" && labels[2] == "ecr") {
    return std::string(labels[0]);
  }
  return std::string(caller_account);
}

Result<RepositoryRecord> AuthorizeRepository(DistributionCall& call, std::string_view name, std::string_view action) {
  Result<RepositoryRecord> repo = call.store().GetRepository(call.account, name);
  if (!repo.ok() && !repo.status().IsNotFound()) return repo.status();
  std::shared_ptr<const policy::Policy> policy;
  if (repo.ok() && !repo->policy.empty()) {
    ANNEX_ASSIGN_OR_RETURN(policy, PolicyCache().For(repo->policy));
  }
  // Authorized before existence is told, so another account learns nothing
  // of repositories it may not use.
  ANNEX_RETURN_IF_ERROR(Ask(call, action, call.registry.RepositoryArn(call.account, name), policy.get()));
  if (!repo.ok()) return NameUnknown(name, call.account);
  return repo;
}

Result<RepositoryRecord> AuthorizeRepository(DistributionCall& call, std::string_view action) {
  return AuthorizeRepository(call, call.path.name, action);
}

bool MayListRepository(DistributionCall& call, std::string_view name, std::string_view action) {
  return Ask(call, action, call.registry.RepositoryArn(call.account, name), nullptr).ok();
}

}  // namespace annex::registry
