#pragma once
// TaskReconciler: the task runtime (task_runtime.h) on this appliance
// server. One thread walks the tasks that are not STOPPED and moves each one
// step towards its desired status, writing every step to the store:
//
//   PROVISIONING   the task's network namespace (awsvpc, bridge) and ports
//   PENDING        images unpacked (ImageStore), bundles made, containers
//   ACTIVATING     started under the supervisor (crun/runc)
//   RUNNING        watched: an essential container's exit stops the task
//   DEACTIVATING / STOPPING       containers stopped (SIGTERM, stopTimeout, SIGKILL)
//   DEPROVISIONING / STOPPED      bundles, images and network let go
//
// It keeps no state of its own: after annexd restarts, the supervisor has
// re-adopted the containers and the reconciler carries on from the stored
// status, so a kill -9 of annexd stops no task.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/result.h"

#include "services/containers/ecs.h"
#include "services/containers/container_health.h"
#include "services/containers/oci_runtime.h"
#include "services/containers/service_scheduler.h"
#include "services/containers/task_definition.h"
#include "services/containers/task_runtime.h"

namespace annex::os {
class BlockingPool;
}
namespace annex::service {
class ImageStore;
}
namespace annex::supervisor {
class Supervisor;
}
namespace annex::network {
class WorkloadNetwork;
struct Attachment;
}

namespace annex::containers {

struct TaskReconcilerOptions {
  Ecs* ecs = nullptr;
  supervisor::Supervisor* supervisor = nullptr;
  service::ImageStore* images = nullptr;
  network::WorkloadNetwork* network = nullptr;
  std::unique_ptr<OciRuntime> runtime;
  std::string tasks_dir;    // <data>/containers/tasks: one directory per task
  std::string volume_root;  // host paths a task definition may mount live under it
  std::chrono::milliseconds interval{1000};
  // Task networks kept ready ahead of RunTask.
  size_t spare_networks = 2;
};

class TaskReconciler final : public TaskRuntime {
 public:
  explicit TaskReconciler(TaskReconcilerOptions options);
  ~TaskReconciler() override;  // stops the thread; tasks run on

  void Wake() override;

 private:
  void Loop();
  void Pass();
  // One step of the task under `key`; returns true when it changed.
  bool Step(const std::string& key, Json& task);
  Status Provision(Json& task);
  Status StartContainers(Json& task);
  bool Watch(Json& task);
  bool StopContainers(Json& task);
  Status Deprovision(Json& task);
  void Fail(Json& task, const std::string& code, const std::string& reason);
  // A stop the API wrote into `current` meanwhile, carried into `task`.
  static void KeepStopRequest(const Json& current, Json& task);
  Result<network::Attachment> TakeNetwork(const std::string& task_id);
  Result<bool> DependenciesMet(const Json& task, const TaskDefinition& def, const ContainerDefinition& c);
  void RefillSpareNetworks();

  TaskReconcilerOptions o_;
  ServiceScheduler services_;
  std::vector<std::string> spares_;  // ids of spare attachments; the loop's thread only
  ContainerHealth health_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace annex::containers
