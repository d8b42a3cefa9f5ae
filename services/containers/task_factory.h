#pragma once
// New tasks: the document RunTask and the service scheduler write for a task
// to be started, and the placement check both make first.

#include <string>

#include "appliance/core/result.h"
#include "services/containers/ecs.h"
#include "services/containers/task_definition.h"
#include "services/containers/task_document.h"

namespace annex::containers {

// What the caller asked for, beyond the task definition.
struct RunRequest {
  std::string cluster;
  std::string launch_type;
  std::string platform_version;
  int count = 1;
  Json overrides;
  Json network;  // networkConfiguration.awsvpcConfiguration, or null
  std::string started_by;
  std::string group;
  Json tags;
};

// ECS task ids are 32 hex digits.
std::string NewTaskId();

// The task document, PROVISIONING with desiredStatus RUNNING, for `def` (stored under `def_key`).
Json NewTask(const Ecs& ecs, const std::string& account, int64_t now_ms, const TaskDefinition& def,
             const std::string& def_key, const RunRequest& run, const Json& overrides, const std::string& id);

// Why this server cannot take `want` more besides every task not STOPPED, as
// ECS's failure reasons say it ("RESOURCE:MEMORY"); empty if it can.
Result<std::string> CapacityShortfall(const Ecs& ecs, const Reservation& want);

}  // namespace annex::containers
