#include "services/containers/task_document.h"

namespace annex::containers {

bool TaskStopped(const Json& task) { return task.value("lastStatus", "") == "STOPPED"; }

Reservation TaskReservation(const Json& task) {
  Reservation r;
  auto priv = task.find(kPrivate);
  if (priv == task.end()) return r;
  r.cpu_units = priv->value("reservedCpu", int64_t{0});
  r.memory_mib = priv->value("reservedMemory", int64_t{0});
  if (auto ports = priv->find("hostPorts"); ports != priv->end() && ports->is_array()) {
    for (const Json& p : *ports) {
      if (p.is_number_integer()) r.host_ports.push_back(p.get<int>());
    }
  }
  return r;
}

HostUsage UsedBy(const std::vector<std::pair<std::string, Json>>& tasks) {
  HostUsage used;
  for (const auto& [key, task] : tasks) {
    if (TaskStopped(task)) continue;
    Reservation r = TaskReservation(task);
    used.cpu_units += r.cpu_units;
    used.memory_mib += r.memory_mib;
    used.host_ports.insert(r.host_ports.begin(), r.host_ports.end());
  }
  return used;
}

Json RenderTask(const Json& task) {
  Json out = task;
  out.erase(kPrivate);
  return out;
}

}  // namespace annex::containers
