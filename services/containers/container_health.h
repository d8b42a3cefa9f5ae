#pragma once
// ContainerHealth: ECS container health checks, run inside the container
// (`crun exec`) as Docker runs them. A check's command is
// ["CMD-SHELL", "<shell line>"] or ["CMD", prog, args…]; every `interval`
// seconds it runs with `timeout`; a pass makes the container HEALTHY, and
// `retries` failures in a row UNHEALTHY, except that failures during
// `startPeriod` do not count. Each check runs on a thread of its own, so a
// slow one delays no other.
//
// The task reconciler says which containers are to be checked (Watch) and
// reads their status; Forget ends a container's checks. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "services/containers/oci_runtime.h"
#include "services/containers/task_definition.h"

namespace annex::containers {

enum class HealthStatus { kUnknown, kHealthy, kUnhealthy };
const char* HealthStatusName(HealthStatus s);  // "UNKNOWN", "HEALTHY", "UNHEALTHY"

class ContainerHealth {
 public:
  explicit ContainerHealth(const OciRuntime& runtime);
  ~ContainerHealth();  // waits for running checks to end (each is bounded by its timeout)

  // Starts checking container `id` (idempotent).
  void Watch(const std::string& id, const HealthCheck& check);
  void Forget(const std::string& id);
  HealthStatus Status(const std::string& id) const;

 private:
  struct Check {
    HealthCheck spec;
    std::chrono::steady_clock::time_point started, next;
    int failures = 0;
    HealthStatus status = HealthStatus::kUnknown;
    bool running = false;
  };
  void Loop();
  void RunOne(std::string id, HealthCheck spec);

  const OciRuntime& runtime_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Check> checks_;
  int in_flight_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Runs `argv` (absolute argv[0]) with no shell, killing it after `timeout`;
// its exit code, or -1 when it timed out, was killed or could not start.
int RunWithTimeout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace annex::containers
