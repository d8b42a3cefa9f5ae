#pragma once
// EcsCall: one ECS request as its operation sees it — the parsed
// parameters, the caller's account, the service state — and the operations
// themselves, one function each (verify → execute → answer JSON).
// ecs_api.cc dispatches.

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "appliance/core/co_status.h"
#include "appliance/core/task.h"
#include "appliance/service/json_params.h"
#include "appliance/service/request_context.h"
#include "services/containers/ecs.h"
#include "services/containers/task_factory.h"

namespace annex::containers {

struct EcsCall {
  service::RequestContext& ctx;
  service::JsonParams& params;
  Ecs& ecs;
  std::string account;  // the caller's: every name is looked up within it
  int64_t now_ms = 0;

  // Runs a blocking store call (LMDB commits fsync) off the io thread.
  template <typename F>
  Task<std::invoke_result_t<F>> Blocking(F fn) {
    return ctx.blocking.Run(std::move(fn));
  }
};

using Answer = Result<Json>;

Status ClientError(std::string message);
Status InvalidParameter(std::string message);
Status ClusterNotFound();

// True when `value` is one of an enum's `allowed` names.
bool OneOf(std::string_view value, std::initializer_list<std::string_view> allowed);

// The cluster a `cluster` member names (a name or an ARN; "default" when
// absent). InvalidParameterException for a malformed one.
Result<std::string> ClusterName(const EcsCall& call, std::string_view member = "cluster");
// The cluster's document; ClusterNotFoundException unless it exists and is ACTIVE.
Task<Result<Json>> RequireActiveCluster(EcsCall& call, const std::string& cluster);

// A resource id in an ARN or given bare: the part after the last '/'.
std::string_view LastPathPart(std::string_view arn_or_id);

// Opaque pagination tokens around a position (a store key).
std::string MakeNextToken(std::string_view position);
Result<std::string> ReadNextToken(const EcsCall& call);
// maxResults (1-100) or `fallback`.
Result<size_t> ReadMaxResults(const EcsCall& call, size_t fallback);

// What RunTask and CreateService both take: cluster, launchType (or a
// FARGATE capacity provider strategy), platformVersion, networkConfiguration,
// count, startedBy, group, tags (ecs_task_handlers.cc).
Result<RunRequest> ParseRun(const EcsCall& call);
// ECS's checks of launch type, platform version and network configuration
// against the task definition; fills in the platform version LATEST names.
Status CheckLaunch(const TaskDefinition& def, RunRequest& run);

// Clusters (ecs_cluster_handlers.cc)
Task<Answer> CreateCluster(EcsCall& call);
Task<Answer> DescribeClusters(EcsCall& call);
Task<Answer> ListClusters(EcsCall& call);
Task<Answer> DeleteCluster(EcsCall& call);
Task<Answer> ListContainerInstances(EcsCall& call);
Task<Answer> DescribeContainerInstances(EcsCall& call);
// Task definitions (ecs_task_definition_handlers.cc)
Task<Answer> RegisterTaskDefinition(EcsCall& call);
Task<Answer> DescribeTaskDefinition(EcsCall& call);
Task<Answer> ListTaskDefinitions(EcsCall& call);
Task<Answer> ListTaskDefinitionFamilies(EcsCall& call);
Task<Answer> DeregisterTaskDefinition(EcsCall& call);
// Tasks (ecs_task_handlers.cc)
Task<Answer> RunTask(EcsCall& call);
Task<Answer> DescribeTasks(EcsCall& call);
Task<Answer> ListTasks(EcsCall& call);
Task<Answer> StopTask(EcsCall& call);
// Tags (ecs_tag_handlers.cc)
Task<Answer> TagResource(EcsCall& call);
Task<Answer> UntagResource(EcsCall& call);
Task<Answer> ListTagsForResource(EcsCall& call);
// Services (ecs_service_handlers.cc)
Task<Answer> CreateService(EcsCall& call);
Task<Answer> UpdateService(EcsCall& call);
Task<Answer> DeleteService(EcsCall& call);
Task<Answer> DescribeServices(EcsCall& call);
Task<Answer> ListServices(EcsCall& call);

}  // namespace annex::containers
