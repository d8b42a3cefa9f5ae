#include "services/containers/service_scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "appliance/core/log.h"
#include "services/containers/ecs_task_definitions.h"
#include "services/containers/service_document.h"
#include "services/containers/task_factory.h"

namespace annex::containers {
namespace {

// A task that ran at least this long before it stopped was healthy.
constexpr int64_t kHealthyAfterMs = 10'000;
constexpr int64_t kFirstBackoffMs = 2'000;
constexpr int64_t kMaxBackoffMs = 300'000;
// At most this many tasks started per service per pass: a large scale-out
// comes up in steps the rest of the appliance keeps up with.
constexpr int64_t kMaxStartsPerPass = 10;

int64_t NowMs(os::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

std::string ShortId(const Json& task) {
  std::string arn = task.value("taskArn", "");
  return arn.substr(arn.rfind('/') + 1);
}

std::string TaskList(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : " ") + std::string("(task ") + id + ")";
  return out;
}

struct ServiceTask {
  std::string key;
  Json* task;
};

}  // namespace

bool ServiceScheduler::Pass() {
  Result<std::vector<std::pair<std::string, Json>>> services = ecs_.store->Scan(EcsKind::kService, "");
  if (!services.ok()) {
    log::Warn("containers: reading services", {{"error", services.status().ToString()}});
    return false;
  }
  bool acted = false;
  int64_t now = NowMs(*ecs_.clock);
  for (auto& [key, service] : *services) {
    if (service.value("status", "") == "INACTIVE") continue;
    Json before = service;
    acted |= Reconcile(key, service, now);
    if (service == before) continue;
    // Written only over what was read: an UpdateService or DeleteService
    // meanwhile wins, and the next pass (which it woke) starts from it.
    Result<std::optional<Json>> written =
        ecs_.store->Update(EcsKind::kService, key, [&](std::optional<Json>& current) {
          if (!current || *current != before) return Status::Aborted("changed meanwhile");
          current = service;
          return Status::OK();
        });
    if (!written.ok() && written.status().code() != StatusCode::kAborted) {
      log::Warn("containers: writing service", {{"service", key}, {"error", written.status().ToString()}});
    }
  }
  return acted;
}

bool ServiceScheduler::Reconcile(const std::string& key, Json& service, int64_t now) {
  Json& p = service["annex"];
  const std::string account = p.value("account", "");
  const std::string cluster = p.value("cluster", "");
  const std::string name = service.value("serviceName", "");
  Result<std::vector<std::pair<std::string, Json>>> all = ecs_.store->Scan(EcsKind::kTask, EcsKey({account, cluster}) + "/");
  if (!all.ok()) return false;

  // Stopped tasks, accounted once: failures back the next launch off.
  std::vector<ServiceTask> live;
  for (auto& [task_key, task] : *all) {
    if (task.value("group", "") != "service:" + name) continue;
    if (task.value("desiredStatus", "") == "RUNNING" && task.value("healthStatus", "") == "UNHEALTHY") {
      // Replaced like a task that failed: stopped now, counted for the back-off.
      task["desiredStatus"] = "STOPPED";
      task["stopCode"] = "ServiceSchedulerInitiated";
      task["stoppedReason"] = "Task failed container health checks";
      task["version"] = task.value("version", 0) + 1;
      if (Status s = ecs_.store->Put(EcsKind::kTask, task_key, task); !s.ok()) return false;
      AddServiceEvent(service, "(task " + ShortId(task) + ") failed container health checks.", now);
      int failures = p.value("failures", 0) + 1;
      p["failures"] = failures;
      p["nextLaunchMs"] = now + std::min<int64_t>(kMaxBackoffMs, kFirstBackoffMs << std::min(failures - 1, 20));
      p["steady"] = false;
      continue;
    }
    if (task.value("desiredStatus", "") == "RUNNING") {
      live.push_back({task_key, &task});
      continue;
    }
    if (!TaskStopped(task) || task["annex"].value("serviceAccounted", false)) continue;
    task["annex"]["serviceAccounted"] = true;
    (void)ecs_.store->Put(EcsKind::kTask, task_key, task);
    if (task.value("stopCode", "") == "ServiceSchedulerInitiated") continue;
    double started = task.value("startedAt", 0.0), stopped = task.value("stoppedAt", 0.0);
    // A task the user stopped is replaced at once: it did not fail.
    bool healthy = task.value("stopCode", "") == "UserInitiated" ||
                   (started > 0 && (stopped - started) * 1000 >= kHealthyAfterMs);
    for (Json& d : service["deployments"]) {
      if (d["id"] == task.value("startedBy", "") && !healthy) d["failedTasks"] = d.value("failedTasks", 0) + 1;
    }
    int failures = healthy ? 0 : p.value("failures", 0) + 1;
    p["failures"] = failures;
    if (failures > 0) {
      int64_t backoff = std::min<int64_t>(kMaxBackoffMs, kFirstBackoffMs << std::min(failures - 1, 20));
      p["nextLaunchMs"] = now + backoff;
    }
    p["steady"] = false;
    AddServiceEvent(service, "task " + ShortId(task) + " stopped: " + task.value("stoppedReason", "") + ".", now);
  }

  Json& deployments = service["deployments"];
  if (!deployments.is_array() || deployments.empty()) return false;
  Json& primary = deployments[0];
  const bool draining = service.value("status", "") == "DRAINING";
  const int64_t desired = draining ? 0 : service.value("desiredCount", int64_t{0});
  const Json& config = service["deploymentConfiguration"];
  const int64_t max_total = desired * config.value("maximumPercent", 200) / 100;
  const int64_t min_healthy =
      static_cast<int64_t>(std::ceil(desired * config.value("minimumHealthyPercent", 100) / 100.0));

  std::map<std::string, std::vector<ServiceTask>> by_deployment;
  int64_t running = 0;
  for (const ServiceTask& t : live) {
    by_deployment[t.task->value("startedBy", "")].push_back(t);
    if (t.task->value("lastStatus", "") == "RUNNING") ++running;
  }
  const std::string primary_id = primary.value("id", "");
  auto& primary_tasks = by_deployment[primary_id];
  bool acted = false;

  // Stop: older deployments' tasks and a PRIMARY's excess, pending ones
  // first, keeping minimumHealthyPercent running.
  std::vector<ServiceTask> candidates;
  for (auto& [id, tasks] : by_deployment) {
    if (id != primary_id) candidates.insert(candidates.end(), tasks.begin(), tasks.end());
  }
  std::vector<ServiceTask> excess;
  if (static_cast<int64_t>(primary_tasks.size()) > desired) {
    excess.assign(primary_tasks.begin() + desired, primary_tasks.end());
  }
  candidates.insert(candidates.end(), excess.begin(), excess.end());
  std::stable_partition(candidates.begin(), candidates.end(),
                        [](const ServiceTask& t) { return t.task->value("lastStatus", "") != "RUNNING"; });
  std::vector<std::string> stopped_ids;
  for (const ServiceTask& t : candidates) {
    bool is_running = t.task->value("lastStatus", "") == "RUNNING";
    if (is_running && running - 1 < min_healthy) break;
    Json& task = *t.task;
    task["desiredStatus"] = "STOPPED";
    task["stopCode"] = "ServiceSchedulerInitiated";
    task["stoppedReason"] = draining ? "Service is being deleted" : "Scaling activity initiated by (deployment " + primary_id + ")";
    task["annex"]["serviceAccounted"] = true;
    task["version"] = task.value("version", 0) + 1;
    if (Status s = ecs_.store->Put(EcsKind::kTask, t.key, task); !s.ok()) return acted;
    if (is_running) --running;
    stopped_ids.push_back(ShortId(task));
    for (auto& [id, tasks] : by_deployment) {
      std::erase_if(tasks, [&](const ServiceTask& x) { return x.key == t.key; });
    }
  }
  if (!stopped_ids.empty()) {
    AddServiceEvent(service, "has stopped " + std::to_string(stopped_ids.size()) + " running tasks: " +
                                 TaskList(stopped_ids) + ".", now);
    p["steady"] = false;
    acted = true;
  }

  // Start: the PRIMARY up to the desired count, within maximumPercent.
  int64_t total = 0;
  for (auto& [id, tasks] : by_deployment) total += static_cast<int64_t>(tasks.size());
  int64_t want = std::min({desired - static_cast<int64_t>(primary_tasks.size()),
                           std::max<int64_t>(max_total, desired) - total, kMaxStartsPerPass});
  if (want > 0 && now >= p.value("nextLaunchMs", int64_t{0})) {
    std::vector<std::pair<std::string, Json>> tasks;
    Result<std::optional<Json>> stored = FindTaskDefinition(ecs_, account, primary.value("taskDefinition", ""));
    Result<TaskDefinition> def = stored.ok() && *stored ? LoadTaskDefinition(ecs_, account, **stored)
                                                        : Result<TaskDefinition>(Status::NotFound("task definition"));
    if (!def.ok()) {
      AddServiceEvent(service, "was unable to place a task: its task definition is gone.", now);
      p["nextLaunchMs"] = now + kMaxBackoffMs;
      return acted;
    }
    RunRequest run;
    run.cluster = cluster;
    run.launch_type = service.value("launchType", "EC2");
    run.platform_version = service.value("platformVersion", "");
    if (service.contains("networkConfiguration")) run.network = service["networkConfiguration"]["awsvpcConfiguration"];
    run.started_by = primary_id;
    run.group = "service:" + name;
    run.tags = Json::array();
    Json overrides = {{"containerOverrides", Json::array()}, {"inferenceAcceleratorOverrides", Json::array()}};
    std::string def_key = EcsKey({account, def->family}) + "/" + RevisionKey(def->revision);
    Reservation placed;
    std::vector<std::string> started_ids;
    for (int64_t i = 0; i < want; ++i) {
      std::string id = NewTaskId();
      Json task = NewTask(ecs_, account, now, *def, def_key, run, overrides, id);
      Reservation r = TaskReservation(task);
      Reservation with = placed;
      with.cpu_units += r.cpu_units;
      with.memory_mib += r.memory_mib;
      with.host_ports.insert(with.host_ports.end(), r.host_ports.begin(), r.host_ports.end());
      Result<std::string> shortfall = CapacityShortfall(ecs_, with);
      if (!shortfall.ok()) break;
      if (!shortfall->empty()) {
        // Once a minute at most, as ECS repeats it.
        if (now - p.value("unplacedEventMs", int64_t{0}) >= 60'000) {
          AddServiceEvent(service, "was unable to place a task because no container instance met all of its "
                                   "requirements. Reason: " + *shortfall + ".", now);
          p["unplacedEventMs"] = now;
        }
        break;
      }
      placed = with;
      started_ids.push_back(id);
      tasks.emplace_back(EcsKey({account, cluster, id}), std::move(task));
    }
    if (!tasks.empty()) {
      if (Status s = ecs_.store->PutAll(EcsKind::kTask, tasks); !s.ok()) return acted;
      AddServiceEvent(service, "has started " + std::to_string(tasks.size()) + " tasks: " + TaskList(started_ids) + ".",
                      now);
      for (auto& t : tasks) primary_tasks.push_back({t.first, nullptr});
      p["steady"] = false;
      acted = true;
    }
  }

  // Counts, finished deployments, the end of a DRAINING service.
  int64_t pending_total = 0, running_total = 0;
  for (Json& d : deployments) {
    int64_t r = 0, n = 0;
    for (const ServiceTask& t : by_deployment[d.value("id", "")]) {
      ++n;
      if (t.task && t.task->value("lastStatus", "") == "RUNNING") ++r;
    }
    if (d.value("runningCount", int64_t{-1}) != r || d.value("pendingCount", int64_t{-1}) != n - r) {
      d["runningCount"] = r;
      d["pendingCount"] = n - r;
      d["updatedAt"] = EpochSeconds(now);
    }
    running_total += r;
    pending_total += n - r;
  }
  service["runningCount"] = running_total;
  service["pendingCount"] = pending_total;
  for (size_t i = deployments.size(); i-- > 1;) {
    const Json& d = deployments[i];
    if (by_deployment[d.value("id", "")].empty()) deployments.erase(deployments.begin() + static_cast<long>(i));
  }
  if (deployments.size() == 1 && primary.value("rolloutState", "") == "IN_PROGRESS" &&
      primary.value("runningCount", int64_t{0}) == desired && pending_total == 0) {
    primary["rolloutState"] = "COMPLETED";
    primary["rolloutStateReason"] = "ECS deployment " + primary_id + " completed.";
    AddServiceEvent(service, "(deployment " + primary_id + ") deployment completed.", now);
  }
  if (draining && live.empty() && stopped_ids.empty()) {
    service["status"] = "INACTIVE";
    return acted;
  }
  bool steady = deployments.size() == 1 && running_total == desired && pending_total == 0;
  if (steady && !p.value("steady", false)) {
    AddServiceEvent(service, "has reached a steady state.", now);
    p["steady"] = true;
  }
  return acted;
}

}  // namespace annex::containers
