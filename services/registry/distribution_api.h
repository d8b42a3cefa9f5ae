#pragma once
// The OCI distribution API (/v2/…), as ECR serves it to docker, podman and
// skopeo: version check, blobs (HEAD/GET with ranges), uploads (POST,
// chunked PATCH, monolithic PUT, cross-repository mount), manifests
// (PUT/GET/HEAD/DELETE by tag and digest), tags/list, _catalog. Callers
// authenticate with an ECR token (registry_token.h) as HTTP Basic or Bearer
// — or a SigV4 signature — and are authorized for the ecr:* action each
// call stands for, on the repository's ARN, with its repository policy.
// Errors go out in the distribution API's own JSON shape
// ({"errors":[{"code":"BLOB_UNKNOWN",…}]}).

#include "appliance/core/task.h"
#include "appliance/service/request_context.h"
#include "services/registry/registry.h"

namespace annex::registry {

// Serves one /v2/ request. Answers every outcome itself, errors included.
http::Task<Status> HandleDistribution(Registry& registry, service::RequestContext& ctx);

}  // namespace annex::registry
