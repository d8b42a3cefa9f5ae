// Clusters and container instances. Every appliance server is a container
// instance of every cluster: the appliance is one pool of capacity, and
// ECS's per-cluster view of it is what clients read.

#include <algorithm>
#include <cctype>
#include <set>

#include "appliance/http/api_error.h"
#include "services/containers/ecs_call.h"
#include "services/containers/ecs_tags.h"
#include "services/containers/task_document.h"

namespace annex::containers {
namespace {

constexpr const char* kAgentVersion = "1.0.0";

struct ClusterCounts {
  int running = 0;
  int pending = 0;
  int services = 0;
};

Result<ClusterCounts> CountTasks(const Ecs& ecs, const std::string& account, const std::string& cluster) {
  ClusterCounts n;
  std::string prefix = EcsKey({account, cluster}) + "/";
  ANNEX_ASSIGN_OR_RETURN(auto tasks, ecs.store->Scan(EcsKind::kTask, prefix));
  for (const auto& [key, task] : tasks) {
    std::string status = task.value("lastStatus", "");
    if (status == "RUNNING") ++n.running;
    else if (status != "STOPPED") ++n.pending;
  }
  ANNEX_ASSIGN_OR_RETURN(auto services, ecs.store->Scan(EcsKind::kService, prefix));
  for (const auto& [key, service] : services) {
    if (service.value("status", "") == "ACTIVE") ++n.services;
  }
  return n;
}

Json ClusterJson(const EcsCall& call, const Json& doc, const ClusterCounts& n, bool with_tags) {
  std::string name = doc.value("clusterName", "");
  bool active = doc.value("status", "") == "ACTIVE";
  Json j = {
      {"clusterArn", call.ecs.ClusterArn(call.account, name)},
      {"clusterName", name},
      {"status", doc.value("status", "")},
      {"registeredContainerInstancesCount", active ? 1 : 0},
      {"runningTasksCount", n.running},
      {"pendingTasksCount", n.pending},
      {"activeServicesCount", n.services},
      {"statistics", Json::array()},
      {"settings", doc.value("settings", Json::array())},
      {"capacityProviders", Json::array()},
      {"defaultCapacityProviderStrategy", Json::array()},
  };
  if (with_tags) j["tags"] = doc.value("tags", Json::array());
  return j;
}

// ECS's containerInsights setting is the only cluster setting.
Result<Json> ParseSettings(const EcsCall& call) {
  ANNEX_ASSIGN_OR_RETURN(const Json* list, call.params.ObjectList("settings", 0, 10));
  Json settings = Json::array({{{"name", "containerInsights"}, {"value", "disabled"}}});
  if (!list) return settings;
  for (const Json& s : *list) {
    ANNEX_ASSIGN_OR_RETURN(auto name, service::NestedString(s, "name", "settings"));
    ANNEX_ASSIGN_OR_RETURN(auto value, service::NestedString(s, "value", "settings"));
    if (name != "containerInsights") return InvalidParameter("Unsupported cluster setting name.");
    if (value != "enabled" && value != "disabled" && value != "enhanced") {
      return InvalidParameter("Unsupported value for containerInsights setting. Valid values: enabled, disabled, enhanced");
    }
    settings[0]["value"] = *value;
  }
  return settings;
}

// What this server offers and has left, as ECS's Resource list.
Json Resources(int64_t cpu, int64_t memory, const std::vector<std::string>& ports) {
  auto integer = [](const char* name, int64_t v) {
    return Json{{"name", name}, {"type", "INTEGER"}, {"doubleValue", 0.0}, {"longValue", 0},
                {"integerValue", v}};
  };
  auto set = [](const char* name, const std::vector<std::string>& v) {
    return Json{{"name", name}, {"type", "STRINGSET"}, {"doubleValue", 0.0}, {"longValue", 0},
                {"integerValue", 0}, {"stringSetValue", v}};
  };
  return Json::array({integer("CPU", cpu), integer("MEMORY", memory), set("PORTS", ports),
                      set("PORTS_UDP", {})});
}

}  // namespace

Task<Answer> CreateCluster(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto given, call.params.String("clusterName"));
  std::string name = given.value_or("default");
  if (name.empty() || name.size() > 255 || !std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
      })) {
    co_return InvalidParameter(
        "Cluster name can have up to 255 characters including letters (uppercase and lowercase), numbers, "
        "underscores, and hyphens.");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(Json tags, ParseTags(call.params));
  ANNEX_CO_ASSIGN_OR_RETURN(Json settings, ParseSettings(call));
  // Creating a cluster that exists answers with it, as ECS does; an INACTIVE
  // one comes back to life.
  auto written = co_await call.Blocking([&] {
    return call.ecs.store->Update(EcsKind::kCluster, EcsKey({call.account, name}), [&](std::optional<Json>& doc) {
      if (doc && doc->value("status", "") == "ACTIVE") return Status::OK();
      doc = Json{{"clusterName", name}, {"status", "ACTIVE"}, {"createdMs", call.now_ms}, {"tags", tags},
                 {"settings", settings}};
      return Status::OK();
    });
  });
  if (!written.ok()) co_return written.status();
  co_return Json{{"cluster", ClusterJson(call, **written, {}, true)}};
}

Task<Answer> DescribeClusters(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto names, call.params.StringList("clusters", 0, 100));
  ANNEX_CO_ASSIGN_OR_RETURN(auto include, call.params.StringList("include", 0, 10));
  for (const std::string& i : include.value_or(std::vector<std::string>{})) {
    if (!OneOf(i, {"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"})) {
      co_return InvalidParameter("Invalid include value: " + i);
    }
  }
  bool with_tags = include && std::find(include->begin(), include->end(), "TAGS") != include->end();
  if (!names || names->empty()) names = std::vector<std::string>{"default"};
  Json clusters = Json::array(), failures = Json::array();
  for (const std::string& given : *names) {
    std::string name(given.starts_with("arn:") ? LastPathPart(given) : std::string_view(given));
    std::string arn = given.starts_with("arn:") ? given : call.ecs.ClusterArn(call.account, name);
    auto found = co_await call.Blocking([&]() -> Result<std::optional<std::pair<Json, ClusterCounts>>> {
      if (given.starts_with("arn:") && given != call.ecs.ClusterArn(call.account, name)) {
        return std::optional<std::pair<Json, ClusterCounts>>();
      }
      ANNEX_ASSIGN_OR_RETURN(auto doc, call.ecs.store->Get(EcsKind::kCluster, EcsKey({call.account, name})));
      if (!doc) return std::optional<std::pair<Json, ClusterCounts>>();
      ANNEX_ASSIGN_OR_RETURN(ClusterCounts n, CountTasks(call.ecs, call.account, name));
      return std::optional<std::pair<Json, ClusterCounts>>(std::make_pair(std::move(*doc), n));
    });
    if (!found.ok()) co_return found.status();
    if (!*found) {
      failures.push_back({{"arn", arn}, {"reason", "MISSING"}});
      continue;
    }
    clusters.push_back(ClusterJson(call, (*found)->first, (*found)->second, with_tags));
  }
  co_return Json{{"clusters", clusters}, {"failures", failures}};
}

Task<Answer> ListClusters(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(size_t limit, ReadMaxResults(call, 100));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  auto docs = co_await call.Blocking([&] {
    return call.ecs.store->Scan(EcsKind::kCluster, call.account + "/", after);
  });
  if (!docs.ok()) co_return docs.status();
  Json arns = Json::array();
  Json answer = Json::object();
  for (const auto& [key, doc] : *docs) {
    if (doc.value("status", "") != "ACTIVE") continue;
    if (arns.size() == limit) {
      answer["nextToken"] = MakeNextToken(after);
      break;
    }
    arns.push_back(call.ecs.ClusterArn(call.account, doc.value("clusterName", "")));
    after = key;
  }
  answer["clusterArns"] = arns;
  co_return answer;
}

Task<Answer> DeleteCluster(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string name, call.params.RequiredString("cluster"));
  ANNEX_CO_ASSIGN_OR_RETURN(name, ClusterName(call));
  auto deleted = co_await call.Blocking([&]() -> Result<Json> {
    ANNEX_ASSIGN_OR_RETURN(ClusterCounts n, CountTasks(call.ecs, call.account, name));
    if (n.services > 0) {
      return http::ApiStatus("ClusterContainsServicesException",
                             "The Cluster cannot be deleted while Services are active.");
    }
    if (n.running + n.pending > 0) {
      return http::ApiStatus("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.");
    }
    ANNEX_ASSIGN_OR_RETURN(auto doc, call.ecs.store->Update(EcsKind::kCluster, EcsKey({call.account, name}),
                                                            [&](std::optional<Json>& doc) {
                                                              if (!doc || doc->value("status", "") != "ACTIVE") {
                                                                return ClusterNotFound();
                                                              }
                                                              (*doc)["status"] = "INACTIVE";
                                                              return Status::OK();
                                                            }));
    return ClusterJson(call, *doc, n, true);
  });
  if (!deleted.ok()) co_return deleted.status();
  co_return Json{{"cluster", *deleted}};
}

namespace {

Result<Json> ContainerInstanceJson(const EcsCall& call, const std::string& cluster, const Json& cluster_doc) {
  // Capacity is the host's, whichever cluster or account a task runs in.
  ANNEX_ASSIGN_OR_RETURN(auto tasks, call.ecs.store->Scan(EcsKind::kTask, ""));
  HostUsage used = UsedBy(tasks);
  int64_t cpu = call.ecs.host.cpu_units - used.cpu_units, memory = call.ecs.host.memory_mib - used.memory_mib;
  std::set<int> ports = used.host_ports;
  ports.insert(22);  // ECS lists the instance's SSH port as taken
  int running = 0, pending = 0;
  std::string prefix = EcsKey({call.account, cluster}) + "/";
  for (const auto& [key, task] : tasks) {
    if (TaskStopped(task) || !key.starts_with(prefix)) continue;
    if (task.value("lastStatus", "") == "RUNNING") ++running;
    else ++pending;
  }
  std::vector<std::string> port_list;
  for (int p : ports) port_list.push_back(std::to_string(p));
  return Json{
      {"containerInstanceArn", call.ecs.ContainerInstanceArn(call.account, cluster)},
      {"ec2InstanceId", call.ecs.server_id},
      {"version", 1},
      {"versionInfo", {{"agentVersion", kAgentVersion}, {"agentHash", "annex"}, {"dockerVersion", "crun"}}},
      {"registeredResources", Resources(call.ecs.host.cpu_units, call.ecs.host.memory_mib, {"22"})},
      {"remainingResources", Resources(std::max<int64_t>(cpu, 0), std::max<int64_t>(memory, 0), port_list)},
      {"status", "ACTIVE"},
      {"agentConnected", true},
      {"runningTasksCount", running},
      {"pendingTasksCount", pending},
      {"attributes", Json::array({{{"name", "ecs.os-type"}, {"value", "linux"}},
                                  {{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}},
                                  {{"name", "ecs.capability.task-eni"}},
                                  {{"name", "com.amazonaws.ecs.capability.logging-driver.awslogs"}},
                                  {{"name", "com.amazonaws.ecs.capability.task-iam-role"}}})},
      {"registeredAt", EpochSeconds(cluster_doc.value("createdMs", int64_t{0}))},
      {"attachments", Json::array()},
      {"tags", Json::array()},
  };
}

}  // namespace

Task<Answer> ListContainerInstances(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto filter, call.params.String("filter"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto status, call.params.String("status"));
  ANNEX_CO_ASSIGN_OR_RETURN(size_t limit, ReadMaxResults(call, 100));
  (void)limit;  // one instance per cluster: it always fits
  if (filter && !filter->empty()) co_return InvalidParameter("Cluster query language filters are not supported.");
  if (status && !OneOf(*status, {"ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"})) {
    co_return InvalidParameter("Invalid status: " + *status);
  }
  ANNEX_CO_ASSIGN_OR_RETURN(Json doc, co_await RequireActiveCluster(call, cluster));
  Json arns = Json::array();
  if (!status || *status == "ACTIVE") arns.push_back(call.ecs.ContainerInstanceArn(call.account, cluster));
  co_return Json{{"containerInstanceArns", arns}};
}

Task<Answer> DescribeContainerInstances(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto wanted, call.params.StringList("containerInstances", 0, 100));
  if (!wanted) co_return service::MissingMember("containerInstances");
  ANNEX_CO_ASSIGN_OR_RETURN(Json cluster_doc, co_await RequireActiveCluster(call, cluster));
  Json instances = Json::array(), failures = Json::array();
  for (const std::string& given : *wanted) {
    std::string arn = given.starts_with("arn:") ? given
                                                : call.ecs.Arn(call.account, "container-instance/" + cluster + "/" + given);
    if (arn != call.ecs.ContainerInstanceArn(call.account, cluster)) {
      failures.push_back({{"arn", arn}, {"reason", "MISSING"}});
      continue;
    }
    auto instance = co_await call.Blocking([&] { return ContainerInstanceJson(call, cluster, cluster_doc); });
    if (!instance.ok()) co_return instance.status();
    instances.push_back(std::move(*instance));
  }
  co_return Json{{"containerInstances", instances}, {"failures", failures}};
}

}  // namespace annex::containers
