#pragma once
// ContainerPlan: how one container of a task is run — the OCI launch (what
// the bundle holds), the cgroup limits and the log stream — computed from
// the task definition, the RunTask overrides and the image's own config,
// as ECS and Docker combine them.

#include <string>

#include "appliance/core/result.h"
#include "appliance/service/image_store.h"
#include "appliance/supervisor/workload_spec.h"
#include "services/containers/oci_spec.h"
#include "services/containers/task_definition.h"

namespace annex::containers {

struct TaskContext {
  std::string account;
  std::string region;
  std::string task_id;
  std::string bundle_root;   // <data>/containers/tasks/<task id>: bundles and task volumes
  std::string volume_root;   // host paths a task definition may bind-mount live under it
  std::string netns_path;    // the task's network namespace ("" for networkMode none)
  std::string hostname;
  bool fargate = false;
  // "NAME=value" set for this container after everything else (ECS's own:
  // the metadata and credentials endpoints, AWS_ENDPOINT_URL).
  std::vector<std::string> extra_env;
};

struct ContainerPlan {
  ContainerLaunch launch;
  supervisor::ResourceLimits limits;
  supervisor::LogDestination log;
  std::chrono::milliseconds stop_grace{30'000};
};

// The container's overrides in a RunTask `overrides` member (null if none).
const Json* ContainerOverride(const Json& overrides, const std::string& name);

// InvalidArgument with a message ECS would put in the container's reason
// (a host path outside the allowed root, an unknown volume, a user missing
// from the image).
Result<ContainerPlan> PlanContainer(const TaskContext& task, const TaskDefinition& def,
                                    const ContainerDefinition& container, const Json* override,
                                    const service::PreparedRootfs& image, const std::string& workload_id);

}  // namespace annex::containers
