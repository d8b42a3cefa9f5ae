// RunTask, DescribeTasks, ListTasks, StopTask. The handlers write what the
// caller wants (a new task, desiredStatus STOPPED) and wake the runtime
// (task_runtime.h), which does it; they never wait for a container.

#include <algorithm>
#include <set>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/random.h"
#include "services/containers/ecs_call.h"
#include "services/containers/ecs_tags.h"
#include "services/containers/ecs_task_definitions.h"
#include "services/containers/fargate_sizes.h"
#include "services/containers/task_document.h"
#include "services/containers/task_factory.h"
#include "services/containers/task_runtime.h"

namespace annex::containers {
namespace {

constexpr int kMaxCount = 10;

// The container overrides, checked against the definition's containers.
Result<Json> ParseOverrides(const EcsCall& call, const TaskDefinition& def) {
  ANNEX_ASSIGN_OR_RETURN(const Json* given, call.params.Object("overrides"));
  Json overrides = {{"containerOverrides", Json::array()}, {"inferenceAcceleratorOverrides", Json::array()}};
  if (!given) return overrides;
  for (const char* key : {"cpu", "memory", "taskRoleArn", "executionRoleArn"}) {
    if (auto it = given->find(key); it != given->end() && !it->is_null()) {
      if (!it->is_string()) return service::SerializationError(std::string("Member 'overrides.") + key + "' must be a string");
      overrides[key] = *it;
    }
  }
  if (auto list = given->find("containerOverrides"); list != given->end() && !list->is_null()) {
    if (!list->is_array()) return service::SerializationError("Member 'overrides.containerOverrides' must be a list");
    for (const Json& o : *list) {
      if (!o.is_object()) return service::SerializationError("Each container override must be an object");
      std::string name = o.value("name", "");
      bool known = std::any_of(def.containerDefinitions.begin(), def.containerDefinitions.end(),
                               [&](const ContainerDefinition& c) { return c.name == name; });
      if (!known) {
        return InvalidParameter("Override for container named " + name + " is not a container in the TaskDefinition.");
      }
      if (o.contains("command") && !o["command"].is_array()) {
        return service::SerializationError("Member 'command' must be a list of strings");
      }
      if (o.contains("environment") && !o["environment"].is_array()) {
        return service::SerializationError("Member 'environment' must be a list");
      }
      overrides["containerOverrides"].push_back(o);
    }
  }
  return overrides;
}

Result<std::string> TaskKey(const EcsCall& call, const std::string& cluster, std::string_view given) {
  if (given.starts_with("arn:")) {
    std::string prefix = call.ecs.Arn(call.account, "task/" + cluster + "/");
    if (!given.starts_with(prefix)) return std::string();
  }
  std::string_view id = LastPathPart(given);
  if (id.empty() || id.size() > 64 || !std::all_of(id.begin(), id.end(), ::isxdigit)) return std::string();
  return EcsKey({call.account, cluster, id});
}

Json TaskJson(const Json& task, bool with_tags) {
  Json out = RenderTask(task);
  if (!with_tags) out.erase("tags");
  return out;
}

}  // namespace

// ECS's checks of launch type, platform version and network configuration.
Status CheckLaunch(const TaskDefinition& def, RunRequest& run) {
  if (run.launch_type != "EC2" && run.launch_type != "FARGATE") {
    if (run.launch_type == "EXTERNAL") return InvalidParameter("The EXTERNAL launch type is not supported by this cluster.");
    return InvalidParameter("Invalid launch type: " + run.launch_type);
  }
  const auto& compat = def.compatibilities;
  if (std::find(compat.begin(), compat.end(), run.launch_type) == compat.end()) {
    return InvalidParameter("Task definition does not support launch_type " + run.launch_type + ".");
  }
  if (run.launch_type == "FARGATE") {
    if (run.platform_version.empty() || run.platform_version == "LATEST") run.platform_version = "1.4.0";
    if (run.platform_version != "1.4.0") {
      return http::ApiStatus("PlatformUnknownException", "The specified platform does not exist.");
    }
  } else if (!run.platform_version.empty()) {
    return InvalidParameter("Platform version is only supported for tasks with the FARGATE launch type.");
  }
  bool awsvpc = def.networkMode == "awsvpc";
  if (awsvpc && run.network.is_null()) {
    return InvalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  }
  if (!awsvpc && !run.network.is_null()) {
    return InvalidParameter("Network Configuration is not valid for the given networkMode of this task definition.");
  }
  if (awsvpc) {
    const Json& subnets = run.network.contains("subnets") ? run.network["subnets"] : Json();
    if (!subnets.is_array() || subnets.empty()) {
      return InvalidParameter("subnets can not be empty.");
    }
  }
  return Status::OK();
}

Result<RunRequest> ParseRun(const EcsCall& call) {
  RunRequest run;
  ANNEX_ASSIGN_OR_RETURN(run.cluster, ClusterName(call));
  ANNEX_ASSIGN_OR_RETURN(auto count, call.params.Long("count"));
  if (count && (*count < 1 || *count > kMaxCount)) {
    return InvalidParameter("instanceCount should be between 1 and 10.");
  }
  run.count = static_cast<int>(count.value_or(1));
  ANNEX_ASSIGN_OR_RETURN(auto launch_type, call.params.String("launchType"));
  ANNEX_ASSIGN_OR_RETURN(auto strategy, call.params.ObjectList("capacityProviderStrategy", 0, 20));
  if (strategy && !strategy->empty()) {
    if (launch_type) return InvalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
    // FARGATE and FARGATE_SPOT are the capacity providers every cluster knows.
    std::string provider = (*strategy)[0].value("capacityProvider", "");
    if (provider != "FARGATE" && provider != "FARGATE_SPOT") {
      return InvalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster.");
    }
    launch_type = "FARGATE";
  }
  run.launch_type = launch_type.value_or("EC2");
  ANNEX_ASSIGN_OR_RETURN(auto platform, call.params.String("platformVersion"));
  run.platform_version = platform.value_or("");
  ANNEX_ASSIGN_OR_RETURN(const Json* network, call.params.Object("networkConfiguration"));
  if (network) {
    auto vpc = network->find("awsvpcConfiguration");
    if (vpc == network->end() || !vpc->is_object()) {
      return InvalidParameter("networkConfiguration.awsvpcConfiguration must be provided.");
    }
    run.network = *vpc;
  }
  ANNEX_ASSIGN_OR_RETURN(auto started_by, call.params.String("startedBy", 0, 36));
  run.started_by = started_by.value_or("");
  ANNEX_ASSIGN_OR_RETURN(auto group, call.params.String("group", 0, 255));
  run.group = group.value_or("");
  ANNEX_ASSIGN_OR_RETURN(run.tags, ParseTags(call.params));
  return run;
}

Task<Answer> RunTask(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string ref, call.params.RequiredString("taskDefinition"));
  ANNEX_CO_ASSIGN_OR_RETURN(RunRequest run, ParseRun(call));
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, run.cluster)).status());
  auto found = co_await call.Blocking([&] { return FindTaskDefinition(call.ecs, call.account, ref); });
  if (!found.ok()) co_return found.status();
  if (!*found) co_return ClientError("Unable to find task definition.");
  if ((**found).value("status", "") != "ACTIVE") co_return ClientError("TaskDefinition is inactive");
  ANNEX_CO_ASSIGN_OR_RETURN(TaskDefinition def, LoadTaskDefinition(call.ecs, call.account, **found));
  ANNEX_CO_RETURN_IF_ERROR(CheckLaunch(def, run));
  ANNEX_CO_ASSIGN_OR_RETURN(Json overrides, ParseOverrides(call, def));
  // Without a runtime the container instance is as good as disconnected: ECS
  // reports that as an AGENT failure per task, not as an error.
  if (!call.ecs.runtime) {
    Json failures = Json::array();
    for (int i = 0; i < run.count; ++i) {
      failures.push_back({{"arn", call.ecs.ContainerInstanceArn(call.account, run.cluster)},
                          {"reason", "AGENT"},
                          {"detail", call.ecs.runtime_unavailable}});
    }
    co_return Json{{"tasks", Json::array()}, {"failures", failures}};
  }
  std::string def_key = EcsKey({call.account, def.family}) + "/" + RevisionKey(def.revision);

  Json tasks = Json::array(), failures = Json::array();
  auto placed = co_await call.Blocking([&]() -> Status {
    std::vector<std::pair<std::string, Json>> docs;
    for (int i = 0; i < run.count; ++i) {
      std::string id = NewTaskId();
      Json task = NewTask(call.ecs, call.account, call.now_ms, def, def_key, run, overrides, id);
      Reservation want = TaskReservation(task);
      for (const auto& [key, placed] : docs) {  // this request's earlier tasks count too
        Reservation r = TaskReservation(placed);
        want.cpu_units += r.cpu_units;
        want.memory_mib += r.memory_mib;
        want.host_ports.insert(want.host_ports.end(), r.host_ports.begin(), r.host_ports.end());
      }
      ANNEX_ASSIGN_OR_RETURN(std::string shortfall, CapacityShortfall(call.ecs, want));
      if (!shortfall.empty()) {
        failures.push_back({{"arn", call.ecs.ContainerInstanceArn(call.account, run.cluster)}, {"reason", shortfall}});
        continue;
      }
      tasks.push_back(TaskJson(task, true));
      docs.emplace_back(EcsKey({call.account, run.cluster, id}), std::move(task));
    }
    return call.ecs.store->PutAll(EcsKind::kTask, docs);
  });
  ANNEX_CO_RETURN_IF_ERROR(placed);
  call.ecs.runtime->Wake();
  co_return Json{{"tasks", tasks}, {"failures", failures}};
}

Task<Answer> DescribeTasks(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto wanted, call.params.StringList("tasks", 0, 100));
  if (!wanted) co_return service::MissingMember("tasks");
  ANNEX_CO_ASSIGN_OR_RETURN(auto include, call.params.StringList("include", 0, 1));
  bool with_tags = include && !include->empty() && include->front() == "TAGS";
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  Json tasks = Json::array(), failures = Json::array();
  for (const std::string& given : *wanted) {
    ANNEX_CO_ASSIGN_OR_RETURN(std::string key, TaskKey(call, cluster, given));
    std::string arn = given.starts_with("arn:") ? given : call.ecs.TaskArn(call.account, cluster, given);
    Result<std::optional<Json>> task = std::optional<Json>();
    if (!key.empty()) task = co_await call.Blocking([&] { return call.ecs.store->Get(EcsKind::kTask, key); });
    if (!task.ok()) co_return task.status();
    if (!*task) {
      failures.push_back({{"arn", arn}, {"reason", "MISSING"}});
      continue;
    }
    tasks.push_back(TaskJson(**task, with_tags));
  }
  co_return Json{{"tasks", tasks}, {"failures", failures}};
}

Task<Answer> ListTasks(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto family, call.params.String("family"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto started_by, call.params.String("startedBy"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto service_name, call.params.String("serviceName"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto desired, call.params.String("desiredStatus"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto launch_type, call.params.String("launchType"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto instance, call.params.String("containerInstance"));
  ANNEX_CO_ASSIGN_OR_RETURN(size_t limit, ReadMaxResults(call, 100));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  if (family && started_by) co_return InvalidParameter("startedBy may not be specified with family.");
  if (launch_type && !OneOf(*launch_type, {"EC2", "FARGATE", "EXTERNAL"})) {
    co_return InvalidParameter("Invalid launchType: " + *launch_type);
  }
  std::string want_status = desired.value_or("RUNNING");
  if (want_status != "RUNNING" && want_status != "PENDING" && want_status != "STOPPED") {
    co_return InvalidParameter("Invalid desiredStatus: " + want_status);
  }
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  std::string prefix = EcsKey({call.account, cluster}) + "/";
  auto docs = co_await call.Blocking([&] { return call.ecs.store->Scan(EcsKind::kTask, prefix, after); });
  if (!docs.ok()) co_return docs.status();
  std::string family_prefix = family ? call.ecs.Arn(call.account, "task-definition/" + *family + ":") : "";
  Json arns = Json::array();
  Json answer = Json::object();
  for (const auto& [key, task] : *docs) {
    std::string desired_status = task.value("desiredStatus", "");
    if (want_status == "PENDING" ? task.value("lastStatus", "") != "PENDING" : desired_status != want_status) continue;
    if (family && !task.value("taskDefinitionArn", "").starts_with(family_prefix)) continue;
    if (started_by && task.value("startedBy", "") != *started_by) continue;
    if (service_name && task.value("group", "") != "service:" + *service_name) continue;
    if (launch_type && task.value("launchType", "") != *launch_type) continue;
    if (instance && LastPathPart(*instance) != call.ecs.server_id) continue;
    if (arns.size() == limit) {
      answer["nextToken"] = MakeNextToken(after);
      break;
    }
    arns.push_back(task.value("taskArn", ""));
    after = key;
  }
  answer["taskArns"] = arns;
  co_return answer;
}

Task<Answer> StopTask(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string given, call.params.RequiredString("task"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto reason, call.params.String("reason", 0, 255));
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string key, TaskKey(call, cluster, given));
  if (key.empty()) co_return InvalidParameter("The referenced task was not found.");
  auto stopped = co_await call.Blocking([&] {
    return call.ecs.store->Update(EcsKind::kTask, key, [&](std::optional<Json>& task) {
      if (!task) return InvalidParameter("The referenced task was not found.");
      if ((*task)["desiredStatus"] != "STOPPED") {
        (*task)["desiredStatus"] = "STOPPED";
        (*task)["stopCode"] = "UserInitiated";
        (*task)["stoppedReason"] = reason && !reason->empty() ? *reason : "Task stopped by user";
        (*task)["version"] = (*task).value("version", 0) + 1;
      }
      return Status::OK();
    });
  });
  if (!stopped.ok()) co_return stopped.status();
  if (call.ecs.runtime) call.ecs.runtime->Wake();
  co_return Json{{"task", TaskJson(**stopped, true)}};
}

}  // namespace annex::containers
