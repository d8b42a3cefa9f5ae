#pragma once
// The ECS API (JSON 1.1, X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>,
// SigV4 signing name "ecs") and the task runtime behind it. Every caller
// acts within its own account: clusters, task definitions and tasks are
// looked up under the principal's account id. The account's root may do
// everything in it; its users what their IAM policies allow (ecs:<Operation>
// on the resource the operation names).

#include "appliance/core/result.h"
#include "appliance/service/environment.h"

namespace annex::containers {

Result<service::Module> NewModule(const service::Environment& env);

}  // namespace annex::containers
