// Who a /v2/ caller is and what it may do: ECR tokens (or a SigV4
// signature the edge verified), the registry the Host names, and the ecr:*
// action of each call authorized on the repository's ARN with its
// repository policy (registry_authorize.h).

#include "appliance/core/strings.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"
#include "services/registry/registry_authorize.h"

namespace annex::registry {
namespace {

Status NameUnknown(std::string_view name, std::string_view account) {
  return DistributionError("NAME_UNKNOWN", "The repository with name '" + std::string(name) +
                                               "' does not exist in the registry with id '" + std::string(account) +
                                               "'");
}

// As registry_authorize.h decides for every API; OK or DENIED with AWS's wording.
Status Ask(DistributionCall& call, std::string_view action, std::string resource, const RepositoryRecord* repo) {
  RegistryAccess access{std::string(action), std::move(resource), call.account, repo};
  Status s = AuthorizeRegistry(call.registry, call.ctx, access);
  if (s.code() == StatusCode::kPermissionDenied) return DistributionError("DENIED", s.message());
  return s;
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
  // Authorized before existence is told, so another account learns nothing
  // of repositories it may not use.
  ANNEX_RETURN_IF_ERROR(Ask(call, action, call.registry.RepositoryArn(call.account, name),
                            repo.ok() ? &*repo : nullptr));
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
