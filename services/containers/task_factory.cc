#include "services/containers/task_factory.h"

#include <algorithm>
#include <set>

#include "appliance/os/random.h"

namespace annex::containers {

std::string NewTaskId() { return os::RandomHex(16); }

namespace {

std::string NewUuid() {
  std::string hex = NewTaskId();
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

// A container's memory as the task's reservation counts it.
int64_t ContainerMemory(const ContainerDefinition& c) { return c.memory.value_or(c.memoryReservation.value_or(0)); }

}  // namespace

Json NewTask(const Ecs& ecs, const std::string& account, int64_t now_ms, const TaskDefinition& def,
             const std::string& def_key, const RunRequest& run, const Json& overrides, const std::string& id) {
  std::string task_arn = ecs.TaskArn(account, run.cluster, id);
  int64_t cpu = def.cpu.value_or(0), memory = def.memory.value_or(0);
  Json containers = Json::array();
  int64_t container_cpu = 0, container_memory = 0;
  std::vector<int> host_ports;
  std::vector<bool> essential;
  for (const ContainerDefinition& c : def.containerDefinitions) {
    essential.push_back(c.essential);
    Json j = {{"containerArn", ecs.Arn(account, "container/" + run.cluster + "/" + id + "/" + NewUuid())},
              {"taskArn", task_arn},
              {"name", c.name},
              {"image", c.image},
              {"lastStatus", "PENDING"},
              {"networkInterfaces", Json::array()},
              {"cpu", std::to_string(c.cpu)}};
    if (c.memory) j["memory"] = std::to_string(*c.memory);
    if (c.memoryReservation) j["memoryReservation"] = std::to_string(*c.memoryReservation);
    containers.push_back(std::move(j));
    container_cpu += c.cpu;
    container_memory += ContainerMemory(c);
    for (const PortMapping& p : c.portMappings) {
      if (p.hostPort && *p.hostPort > 0) host_ports.push_back(*p.hostPort);
    }
  }
  Json task = {
      {"taskArn", task_arn},
      {"clusterArn", ecs.ClusterArn(account, run.cluster)},
      {"taskDefinitionArn", def.taskDefinitionArn},
      {"overrides", overrides},
      {"lastStatus", "PROVISIONING"},
      {"desiredStatus", "RUNNING"},
      {"containers", containers},
      {"version", 1},
      {"createdAt", EpochSeconds(now_ms)},
      {"launchType", run.launch_type},
      {"availabilityZone", ecs.region + "a"},
      {"group", run.group.empty() ? "family:" + def.family : run.group},
      {"connectivity", "CONNECTED"},
      {"connectivityAt", EpochSeconds(now_ms)},
      {"attachments", Json::array()},
      {"attributes", Json::array({{{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}})},
      {"tags", run.tags},
      {"enableExecuteCommand", false},
      {"healthStatus", "UNKNOWN"},
  };
  if (def.cpu) task["cpu"] = std::to_string(*def.cpu);
  if (def.memory) task["memory"] = std::to_string(*def.memory);
  if (!run.started_by.empty()) task["startedBy"] = run.started_by;
  if (run.launch_type == "FARGATE") {
    task["platformVersion"] = run.platform_version;
    task["platformFamily"] = "Linux";
    task["capacityProviderName"] = "FARGATE";
    int gib = def.ephemeralStorageGiB.value_or(20);
    task["ephemeralStorage"] = {{"sizeInGiB", gib}};
  } else {
    task["containerInstanceArn"] = ecs.ContainerInstanceArn(account, run.cluster);
  }
  task[kPrivate] = {
      {"account", account},
      {"cluster", run.cluster},
      {"id", id},
      {"taskDefinitionKey", def_key},
      {"network", run.network},
      {"reservedCpu", cpu ? cpu : container_cpu},
      {"reservedMemory", memory ? memory : container_memory},
      {"hostPorts", host_ports},
      {"essential", essential},
      {"networkMode", def.networkMode.value_or("bridge")},
      // The task's key to its metadata endpoint (task_endpoint.h).
      {"endpointToken", os::RandomHex(16)},
  };
  // The task role: the override's, else the definition's.
  std::string role = overrides.is_object() ? overrides.value("taskRoleArn", def.taskRoleArn.value_or(""))
                                           : def.taskRoleArn.value_or("");
  if (!role.empty()) {
    task[kPrivate]["taskRoleArn"] = role;
    task[kPrivate]["credentialsId"] = NewUuid();
  }
  return task;
}

Result<std::string> CapacityShortfall(const Ecs& ecs, const Reservation& want) {
  ANNEX_ASSIGN_OR_RETURN(auto tasks, ecs.store->Scan(EcsKind::kTask, ""));
  HostUsage used = UsedBy(tasks);
  if (want.cpu_units > ecs.host.cpu_units - used.cpu_units) return std::string("RESOURCE:CPU");
  if (want.memory_mib > ecs.host.memory_mib - used.memory_mib) return std::string("RESOURCE:MEMORY");
  for (int p : want.host_ports) {
    bool reserved = std::find(ecs.reserved_ports.begin(), ecs.reserved_ports.end(), p) != ecs.reserved_ports.end();
    if (reserved || used.host_ports.count(p)) return std::string("RESOURCE:PORTS");
  }
  return std::string();
}

}  // namespace annex::containers
