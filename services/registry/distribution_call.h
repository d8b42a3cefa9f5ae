#pragma once
// DistributionCall: one /v2/ request as its handlers see it — the parsed
// path, the registry (account) it addresses, the authenticated caller in
// ctx.principal — and the handlers of each route (distribution_*.cc).
// Handlers return a Status for every failure before a response head went
// out; HandleDistribution renders it in the distribution API's shape.

#include <string>
#include <string_view>

#include "appliance/core/task.h"
#include "appliance/http/request.h"
#include "appliance/service/request_context.h"
#include "services/registry/distribution_path.h"
#include "services/registry/registry.h"

namespace annex::registry {

struct DistributionCall {
  Registry& registry;
  service::RequestContext& ctx;
  DistributionPath path;
  std::string account;  // whose registry: the Host's <account>.dkr.ecr.…, else the caller's

  const http::Request& request() const { return ctx.request; }
  RegistryStore& store() { return *registry.store; }
  BlobStore& blobs() { return *registry.blobs; }
};

// --- authentication and authorization (distribution_auth.cc)

// The caller: a SigV4-verified principal as the edge found it, else the
// ECR token in Authorization. UNAUTHORIZED without either.
Result<auth::Principal> AuthenticateDistribution(const Registry& registry, const service::RequestContext& ctx);

// The account whose registry `request` addresses: the 12 digits of a Host
// "<account>.dkr.ecr.<region>.<domain>", else `caller_account`.
std::string AddressedAccount(const http::Request& request, std::string_view caller_account);

// Loads the call's repository and authorizes `action` (ecr:…) on it with
// its repository policy. DENIED when not allowed, NAME_UNKNOWN (ECR's
// message) when the repository does not exist.
Result<RepositoryRecord> AuthorizeRepository(DistributionCall& call, std::string_view action);
// The same for another repository of the call's account (a mount's source).
Result<RepositoryRecord> AuthorizeRepository(DistributionCall& call, std::string_view name, std::string_view action);
// Whether the caller may perform `action` on `name` by its identity
// policies alone (the catalog's filter; names its own account only).
bool MayListRepository(DistributionCall& call, std::string_view name, std::string_view action);

// --- responses (distribution_api.cc)

// A response with the API version header every /v2/ answer carries.
http::Response DistributionResponse(int status);

// --- the routes
Task<Status> HandleBlobRequest(DistributionCall& call);      // distribution_blobs.cc
Task<Status> HandleUploadRequest(DistributionCall& call);    // distribution_uploads.cc
Task<Status> HandleManifestRequest(DistributionCall& call);  // distribution_manifests.cc
Task<Status> HandleTagsRequest(DistributionCall& call);      // distribution_listing.cc
Task<Status> HandleCatalogRequest(DistributionCall& call);   // distribution_listing.cc

}  // namespace annex::registry
