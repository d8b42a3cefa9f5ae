#pragma once
// The ECR JSON 1.1 API (X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>,
// SigV4 signing name "ecr"): repositories, images, authorization tokens,
// lifecycle and repository policies, tags. Every call is authorized as
// ecr:<Op> on the repository's ARN (with its repository policy), or "*".

#include "appliance/core/task.h"
#include "appliance/service/request_context.h"
#include "services/registry/registry.h"

namespace annex::registry {

inline constexpr std::string_view kEcrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";

// Serves one ECR API request; returns an error Status for the edge to
// render as JSON (the codes are in ecr_errors.h).
http::Task<Status> HandleEcr(Registry& registry, service::RequestContext& ctx);

}  // namespace annex::registry
