#pragma once
// The image transfer API: offline import and export of whole images, for
// `annexctl images import|export` and, later, the control plane.
//
//   POST /_annex/api/images/import[?repository=R]   body: a `docker save`
//        archive or an OCI image layout as a tar (gzip or not). Answers JSON
//        with the images it stored (repository, tag, digest).
//   GET  /_annex/api/images/export?image=R:TAG      a docker-archive tar that
//        `podman load` and `skopeo copy docker-archive:…` accept.
//
// Signed with SigV4 (signing name "ecr") and authorized as the ECR actions
// the same push or pull would need (ecr:PutImage & co, ecr:BatchGetImage & co).

#include <string_view>

#include "appliance/core/task.h"
#include "appliance/service/request_context.h"
#include "services/registry/registry.h"

namespace annex::registry {

inline constexpr std::string_view kImageTransferPrefix = "/_annex/api/images/";

http::Task<Status> HandleImageTransfer(Registry& registry, service::RequestContext& ctx);

// Fails the imports a restart interrupted: logs each one ("an image import
// was interrupted by a restart and has failed") and removes its spool files.
// What they stored is unreferenced blobs, which the garbage collector
// reclaims. Call once at startup, after the store opens and before serving.
// Returns how many imports it failed.
size_t FailInterruptedImports(const Registry& registry);

}  // namespace annex::registry
