#pragma once
// Ecs: what every ECS operation works with — the store, the names the
// appliance answers with (region, ARNs, its container instance) and the
// task runtime. Built once by the containers module (containers_service.cc).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/os/clock.h"
#include "services/containers/ecs_store.h"

namespace annex::containers {

class TaskRuntime;

// Epoch seconds with milliseconds, as botocore's timestamp shapes read JSON.
inline double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// This appliance server as an ECS container instance: what it offers every
// cluster (ECS's registeredResources).
struct HostResources {
  int64_t cpu_units = 0;   // 1024 per core
  int64_t memory_mib = 0;  // physical memory less what the appliance keeps for itself
};

struct Ecs {
  std::unique_ptr<EcsStore> store;
  std::string region;
  os::Clock* clock = nullptr;
  std::string server_id;  // this appliance server: its container instance id in every cluster
  HostResources host;
  // Runs tasks; null where the appliance cannot (annexd without root): RunTask
  // then fails with the reason.
  TaskRuntime* runtime = nullptr;
  std::string runtime_unavailable;  // why runtime is null
  // How tasks reach the appliance's API ("http://<gateway>:4566"), set as
  // their AWS_ENDPOINT_URL; empty when they cannot.
  std::string api_endpoint;
  // Host ports no task may publish (the appliance's own listeners).
  std::vector<int> reserved_ports;

  // arn:aws:ecs:<region>:<account>:<resource>
  std::string Arn(std::string_view account, std::string_view resource) const {
    return "arn:aws:ecs:" + region + ":" + std::string(account) + ":" + std::string(resource);
  }
  std::string ClusterArn(std::string_view account, std::string_view cluster) const {
    return Arn(account, "cluster/" + std::string(cluster));
  }
  std::string ContainerInstanceArn(std::string_view account, std::string_view cluster) const {
    return Arn(account, "container-instance/" + std::string(cluster) + "/" + server_id);
  }
  std::string TaskArn(std::string_view account, std::string_view cluster, std::string_view id) const {
    return Arn(account, "task/" + std::string(cluster) + "/" + std::string(id));
  }
  std::string TaskDefinitionArn(std::string_view account, std::string_view family, int64_t revision) const {
    return Arn(account, "task-definition/" + std::string(family) + ":" + std::to_string(revision));
  }
};

}  // namespace annex::containers
