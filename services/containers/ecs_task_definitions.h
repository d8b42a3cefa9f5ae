#pragma once
// Task definitions as the store keeps them: the registration request as
// given (validated when it was registered) with its family, revision and
// status. Re-parsed when read, so the describe shape and the runtime see
// exactly what RegisterTaskDefinition accepted.

#include <optional>
#include <string>

#include "appliance/core/result.h"
#include "services/containers/ecs.h"
#include "services/containers/task_definition.h"

namespace annex::containers {

// A stored revision with its describe-time members set (arn, revision,
// status, registeredAt).
Result<TaskDefinition> LoadTaskDefinition(const Ecs& ecs, const std::string& account, const Json& stored);

// The revision a `taskDefinition` member names: "family" (its latest ACTIVE
// revision), "family:revision" or the full ARN. Nullopt when there is no such
// revision (ECS then answers ClientException).
Result<std::optional<Json>> FindTaskDefinition(const Ecs& ecs, const std::string& account, std::string_view ref);

}  // namespace annex::containers
