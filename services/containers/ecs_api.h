#pragma once
// The ECS JSON 1.1 API (X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>,
// SigV4 signing name "ecs"): clusters, container instances, task
// definitions, tasks.

#include <string_view>

#include "appliance/core/task.h"
#include "appliance/service/authorizer.h"
#include "appliance/service/request_context.h"
#include "services/containers/ecs.h"

namespace annex::containers {

inline constexpr std::string_view kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113.";

// Serves one ECS API request; returns an error Status for the edge to
// render as JSON (the codes are in ecs_errors.h).
http::Task<Status> HandleEcs(Ecs& ecs, const service::Authorizer* authorizer, service::RequestContext& ctx);

}  // namespace annex::containers
