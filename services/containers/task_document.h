#pragma once
// A task as the containers service keeps it: the DescribeTasks shape, plus
// what only the appliance needs under the member "annex" (the workloads that
// run its containers, its network, what it reserves of the host). Render()
// strips the private part.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace annex::containers {

using Json = nlohmann::json;

inline constexpr const char* kPrivate = "annex";

// What a task takes of its container instance while it is not STOPPED.
struct Reservation {
  int64_t cpu_units = 0;
  int64_t memory_mib = 0;
  std::vector<int> host_ports;
};

bool TaskStopped(const Json& task);
Reservation TaskReservation(const Json& task);
// What the tasks that are not STOPPED take of this server together.
struct HostUsage {
  int64_t cpu_units = 0;
  int64_t memory_mib = 0;
  std::set<int> host_ports;
};
HostUsage UsedBy(const std::vector<std::pair<std::string, Json>>& tasks);
// The task as DescribeTasks answers it.
Json RenderTask(const Json& task);

}  // namespace annex::containers
