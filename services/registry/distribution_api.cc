// HandleDistribution: authenticates the caller, reads the path from the
// right and hands the request to its route's handler; every failure is
// answered here in the distribution API's JSON shape.

#include "services/registry/distribution_api.h"

#include "appliance/core/co_status.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"

namespace annex::registry {
namespace {

// The code a bare NotFound means on each route.
std::string_view NotFoundCode(DistributionRoute route) {
  switch (route) {
    case DistributionRoute::kBlob:
      return "BLOB_UNKNOWN";
    case DistributionRoute::kUploads:
    case DistributionRoute::kUpload:
      return "BLOB_UPLOAD_UNKNOWN";
    case DistributionRoute::kManifest:
      return "MANIFEST_UNKNOWN";
    default:
      return "NAME_UNKNOWN";
  }
}

Task<Status> Route(DistributionCall& call) {
  switch (call.path.route) {
    case DistributionRoute::kBase: {
      call.ctx.operation = "ApiVersionCheck";
      if (call.request().method != "GET" && call.request().method != "HEAD") break;
      http::Response response = DistributionResponse(200);
      response.headers.Set("content-type", "application/json");
      response.body = "{}";
      co_return co_await call.ctx.response.Send(std::move(response));
    }
    case DistributionRoute::kCatalog:
      co_return co_await HandleCatalogRequest(call);
    case DistributionRoute::kTags:
      co_return co_await HandleTagsRequest(call);
    case DistributionRoute::kManifest:
      co_return co_await HandleManifestRequest(call);
    case DistributionRoute::kBlob:
      co_return co_await HandleBlobRequest(call);
    case DistributionRoute::kUploads:
    case DistributionRoute::kUpload:
      co_return co_await HandleUploadRequest(call);
  }
  co_return DistributionError("UNSUPPORTED", "The operation is unsupported.");
}

Task<Status> Serve(Registry& registry, service::RequestContext& ctx, DistributionRoute& route) {
  ANNEX_CO_ASSIGN_OR_RETURN(auth::Principal caller, AuthenticateDistribution(registry, ctx));
  ctx.principal = std::move(caller);
  ANNEX_CO_ASSIGN_OR_RETURN(DistributionPath path, ParseDistributionPath(ctx.request.raw_path));
  route = path.route;
  DistributionCall call{registry, ctx, std::move(path), AddressedAccount(ctx.request, ctx.principal.account_id)};
  co_return co_await Route(call);
}

}  // namespace

http::Response DistributionResponse(int status) {
  http::Response response;
  response.status = status;
  response.headers.Set("docker-distribution-api-version", "registry/2.0");
  return response;
}

http::Task<Status> HandleDistribution(Registry& registry, service::RequestContext& ctx) {
  DistributionRoute route = DistributionRoute::kBase;
  Status status = co_await Serve(registry, ctx, route);
  if (status.ok()) co_return status;
  co_return co_await SendDistributionError(ctx, status, NotFoundCode(route));
}

}  // namespace annex::registry
