#include "services/containers/task_reconciler.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "appliance/core/log.h"
#include "appliance/network/workload_network.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"
#include "appliance/service/image_store.h"
#include "appliance/supervisor/supervisor.h"
#include "services/containers/container_plan.h"
#include "services/containers/ecs_task_definitions.h"
#include "services/containers/oci_bundle.h"
#include "services/containers/task_document.h"
#include "services/containers/task_endpoint.h"

namespace annex::containers {
namespace {

constexpr const char* kPlatform = "linux/amd64";
// Network attachments made ahead of time: a new task takes one instead of
// waiting ~40 ms for a namespace, a veth pair and its addresses.
constexpr std::string_view kSparePrefix = "ecs-spare-";
// Stopped tasks' workload records (and their output files) are dropped this
// long after the task stopped: the forwarder has moved their output by then.
constexpr int64_t kRemoveWorkloadsAfterMs = 60'000;

int64_t NowMs(os::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

std::string WorkloadId(const Json& task, size_t index) {
  return "ecs-" + task[kPrivate]["id"].get<std::string>() + "-" + std::to_string(index);
}

std::string ImageHolder(const Json& task, const std::string& container) {
  return "ecs/" + task[kPrivate]["id"].get<std::string>() + "/" + container;
}

void SetStatus(Json& task, const char* status) {
  task["lastStatus"] = status;
  task["version"] = task.value("version", 0) + 1;
}

bool Active(const supervisor::WorkloadState& w) {
  return w.phase == supervisor::WorkloadPhase::kRunning || w.phase == supervisor::WorkloadPhase::kStopping ||
         w.phase == supervisor::WorkloadPhase::kRestarting;
}

}  // namespace

TaskReconciler::TaskReconciler(TaskReconcilerOptions options)
    : o_(std::move(options)), services_(*o_.ecs), health_(*o_.runtime) {
  // Spares a previous annexd prepared are still attached: take back those
  // no task took meanwhile.
  if (o_.network) {
    std::set<std::string> taken;
    if (auto tasks = o_.ecs->store->Scan(EcsKind::kTask, ""); tasks.ok()) {
      for (const auto& [key, task] : *tasks) taken.insert(task[kPrivate].value("networkId", ""));
    }
    for (const network::Attachment& a : o_.network->List()) {
      if (a.id.starts_with(kSparePrefix) && !taken.count(a.id)) spares_.push_back(a.id);
    }
  }
  thread_ = std::thread([this] { Loop(); });
}

TaskReconciler::~TaskReconciler() {
  stopping_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void TaskReconciler::Wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  wake_.notify_one();
}

void TaskReconciler::Loop() {
  while (!stopping_) {
    Pass();
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, o_.interval, [&] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

void TaskReconciler::Pass() {
  services_.Pass();
  Result<std::vector<std::pair<std::string, Json>>> tasks = o_.ecs->store->Scan(EcsKind::kTask, "");
  if (!tasks.ok()) {
    log::Warn("containers: reading tasks", {{"error", tasks.status().ToString()}});
    return;
  }
  int64_t now = NowMs(*o_.ecs->clock);
  for (auto& [key, task] : *tasks) {
    if (stopping_) return;
    if (TaskStopped(task)) {
      // Late cleanup: the workloads' records and output files.
      Json& p = task[kPrivate];
      if (p.value("workloadsRemoved", true) || now < p.value("removeAfterMs", int64_t{0})) continue;
      for (size_t i = 0; i < task["containers"].size(); ++i) (void)o_.supervisor->Remove(WorkloadId(task, i));
      p["workloadsRemoved"] = true;
      (void)o_.ecs->store->Put(EcsKind::kTask, key, task);
      continue;
    }
    // Steps follow one another at once (RunTask → RUNNING without waiting for a tick).
    for (int steps = 0; steps < 8 && !stopping_; ++steps) {
      Json before = task;
      if (!Step(key, task)) break;
      // A StopTask may have landed since the task was read: keep it (the
      // step's own changes, a network or a container started, must not be
      // lost either, so the step is not simply dropped).
      Result<std::optional<Json>> written =
          o_.ecs->store->Update(EcsKind::kTask, key, [&](std::optional<Json>& current) {
            if (!current) return Status::NotFound("the task is gone");
            if (*current != before) KeepStopRequest(*current, task);
            current = task;
            return Status::OK();
          });
      if (!written.ok()) {
        log::Warn("containers: writing task", {{"task", key}, {"error", written.status().ToString()}});
        break;
      }
      if (TaskStopped(task)) break;
    }
  }
  // After the tasks, so a RunTask never waits for it; only on an appliance
  // that runs tasks at all.
  if (!tasks->empty()) RefillSpareNetworks();
}

void TaskReconciler::KeepStopRequest(const Json& current, Json& task) {
  if (current.value("desiredStatus", "") == "STOPPED" && task.value("desiredStatus", "") != "STOPPED") {
    task["desiredStatus"] = "STOPPED";
    for (const char* member : {"stopCode", "stoppedReason"}) {
      if (current.contains(member)) task[member] = current[member];
    }
  }
  task["version"] = std::max(task.value("version", 0), current.value("version", 0)) + 1;
}

void TaskReconciler::Fail(Json& task, const std::string& code, const std::string& reason) {
  task["desiredStatus"] = "STOPPED";
  if (!task.contains("stopCode")) {
    task["stopCode"] = code;
    task["stoppedReason"] = reason;
  }
}

Result<network::Attachment> TaskReconciler::TakeNetwork(const std::string& task_id) {
  while (!spares_.empty()) {
    std::string spare = spares_.back();
    spares_.pop_back();
    Result<network::Attachment> a = o_.network->Find(spare);
    if (a.ok()) return a;
  }
  return o_.network->Attach("ecs-" + task_id);
}

void TaskReconciler::RefillSpareNetworks() {
  if (!o_.network) return;
  while (spares_.size() < o_.spare_networks && !stopping_) {
    Result<network::Attachment> a = o_.network->Attach(std::string(kSparePrefix) + os::RandomHex(8));
    if (!a.ok()) {
      log::Warn("containers: preparing a spare task network", {{"error", a.status().ToString()}});
      return;
    }
    spares_.push_back(a->id);
  }
}

bool TaskReconciler::Step(const std::string& key, Json& task) {
  std::string last = task.value("lastStatus", "");
  bool stop = task.value("desiredStatus", "") == "STOPPED";
  int64_t now = NowMs(*o_.ecs->clock);
  if (!stop) {
    if (last == "PROVISIONING") {
      if (Status s = Provision(task); !s.ok()) {
        Fail(task, "TaskFailedToStart", "ResourceInitializationError: " + s.message());
        return true;
      }
      SetStatus(task, "PENDING");
      return true;
    }
    if (last == "PENDING") {
      task["pullStartedAt"] = now / 1000.0;
      if (Status s = StartContainers(task); !s.ok()) {
        Fail(task, "TaskFailedToStart", s.message());
        return true;
      }
      task["pullStoppedAt"] = NowMs(*o_.ecs->clock) / 1000.0;
      SetStatus(task, "ACTIVATING");
      return true;
    }
    if (last == "ACTIVATING") {
      task["startedAt"] = now / 1000.0;
      SetStatus(task, "RUNNING");
      return true;
    }
    if (last == "RUNNING") return Watch(task);
    return false;
  }
  // Towards STOPPED.
  if (last == "PROVISIONING" || last == "PENDING" || last == "ACTIVATING" || last == "RUNNING") {
    task["stoppingAt"] = now / 1000.0;
    SetStatus(task, "DEACTIVATING");
    return true;
  }
  if (last == "DEACTIVATING") {
    SetStatus(task, "STOPPING");
    return true;
  }
  if (last == "STOPPING") {
    if (!StopContainers(task)) return false;  // still ending; the next pass looks again
    task["executionStoppedAt"] = NowMs(*o_.ecs->clock) / 1000.0;
    SetStatus(task, "DEPROVISIONING");
    return true;
  }
  if (last == "DEPROVISIONING") {
    if (Status s = Deprovision(task); !s.ok()) {
      log::Warn("containers: deprovisioning", {{"task", key}, {"error", s.ToString()}});
      return false;
    }
    task["stoppedAt"] = NowMs(*o_.ecs->clock) / 1000.0;
    task[kPrivate]["workloadsRemoved"] = false;
    task[kPrivate]["removeAfterMs"] = NowMs(*o_.ecs->clock) + kRemoveWorkloadsAfterMs;
    SetStatus(task, "STOPPED");
    return true;
  }
  return false;
}

Status TaskReconciler::Provision(Json& task) {
  Json& p = task[kPrivate];
  const std::string id = p["id"];
  ANNEX_ASSIGN_OR_RETURN(auto stored, o_.ecs->store->Get(EcsKind::kTaskDefinition, p["taskDefinitionKey"].get<std::string>()));
  if (!stored) return Status::NotFound("the task definition is gone");
  ANNEX_ASSIGN_OR_RETURN(TaskDefinition def, LoadTaskDefinition(*o_.ecs, p["account"], *stored));
  std::string mode = def.networkMode.value_or("bridge");
  if (mode == "host") return Status::OK();  // the host's own network
  if (mode == "none") return Status::OK();  // a private namespace with only lo (the bundle's default)
  if (!o_.network) return Status::FailedPrecondition("the appliance's workload network is unavailable");
  ANNEX_ASSIGN_OR_RETURN(network::Attachment a, TakeNetwork(id));
  p["networkId"] = a.id;
  p["netnsPath"] = a.netns_path;
  p["ipv4"] = a.ipv4;
  p["gateway"] = a.gateway;
  // Published ports: bridge mode maps host ports, as ECS's bridge mode does.
  std::vector<network::PortRequest> requests;
  std::vector<std::pair<std::string, size_t>> owners;
  if (mode == "bridge") {
    for (const ContainerDefinition& c : def.containerDefinitions) {
      for (const PortMapping& m : c.portMappings) {
        network::PortRequest r;
        r.protocol = m.protocol == "udp" ? network::Protocol::kUdp : network::Protocol::kTcp;
        r.container_port = static_cast<uint16_t>(m.containerPort);
        r.host_port = static_cast<uint16_t>(m.hostPort.value_or(0));
        requests.push_back(r);
        owners.emplace_back(c.name, requests.size() - 1);
      }
    }
  }
  std::vector<network::PortBinding> bound;
  if (!requests.empty()) {
    ANNEX_ASSIGN_OR_RETURN(bound, o_.network->PublishPorts(a.id, requests));
  }
  for (Json& c : task["containers"]) {
    if (mode == "awsvpc") {
      c["networkInterfaces"] = Json::array({{{"attachmentId", id}, {"privateIpv4Address", a.ipv4}}});
    }
    Json bindings = Json::array();
    for (size_t i = 0; i < owners.size() && i < bound.size(); ++i) {
      if (owners[i].first != c.value("name", "")) continue;
      bindings.push_back({{"bindIP", "0.0.0.0"},
                          {"containerPort", bound[i].container_port},
                          {"hostPort", bound[i].host_port},
                          {"protocol", std::string(network::ProtocolName(bound[i].protocol))}});
    }
    c["networkBindings"] = bindings;
  }
  if (mode == "awsvpc") {
    std::string subnet = "subnet-annex";
    const Json& net = p["network"];
    if (net.is_object() && net.contains("subnets") && !net["subnets"].empty()) subnet = net["subnets"][0];
    task["attachments"] = Json::array({{
        {"id", id},
        {"type", "ElasticNetworkInterface"},
        {"status", "ATTACHED"},
        {"details", Json::array({{{"name", "subnetId"}, {"value", subnet}},
                                 {{"name", "networkInterfaceId"}, {"value", "eni-" + id.substr(0, 17)}},
                                 {{"name", "privateIPv4Address"}, {"value", a.ipv4}}})},
    }});
  }
  return Status::OK();
}

Status TaskReconciler::StartContainers(Json& task) {
  Json& p = task[kPrivate];
  const std::string account = p["account"];
  ANNEX_ASSIGN_OR_RETURN(auto stored, o_.ecs->store->Get(EcsKind::kTaskDefinition, p["taskDefinitionKey"].get<std::string>()));
  if (!stored) return Status::NotFound("the task definition is gone");
  ANNEX_ASSIGN_OR_RETURN(TaskDefinition def, LoadTaskDefinition(*o_.ecs, account, *stored));
  if (!o_.images) return Status::FailedPrecondition("CannotPullContainerError: the appliance has no image store");
  TaskContext ctx;
  ctx.account = account;
  ctx.region = o_.ecs->region;
  ctx.task_id = p["id"];
  ctx.bundle_root = os::JoinPath(o_.tasks_dir, ctx.task_id);
  ctx.volume_root = o_.volume_root;
  ctx.netns_path = p.value("netnsPath", "");
  ctx.fargate = task.value("launchType", "") == "FARGATE";
  for (size_t i = 0; i < def.containerDefinitions.size(); ++i) {
    const ContainerDefinition& c = def.containerDefinitions[i];
    Json& state = task["containers"][i];
    std::string workload = WorkloadId(task, i);
    // A container already started (annexd stopped between two) is not started twice.
    if (state.value("lastStatus", "") != "PENDING") continue;
    if (std::optional<supervisor::WorkloadState> w = o_.supervisor->Get(workload); w && Active(*w)) {
      // Started before annexd stopped, ahead of the write that would have said so.
      state["lastStatus"] = "RUNNING";
      state["runtimeId"] = workload;
      continue;
    }
    // dependsOn: a container waits for the ones it names (START, COMPLETE, SUCCESS, HEALTHY).
    ANNEX_ASSIGN_OR_RETURN(bool ready, DependenciesMet(task, def, c));
    if (!ready) continue;
    Result<service::ImageReference> ref = service::ParseImageUri(c.image, account);
    if (!ref.ok()) return Status::InvalidArgument("CannotPullContainerError: invalid image " + c.image);
    Result<service::PreparedRootfs> image = o_.images->Prepare(*ref, kPlatform, ImageHolder(task, c.name));
    if (!image.ok()) {
      return Status::NotFound("CannotPullContainerError: pull image manifest has been retried 1 time(s): " + c.image +
                              ": " + image.status().message());
    }
    state["imageDigest"] = image->image.manifest_digest;
    // A task with a network of its own reaches the task endpoint and the API through it.
    ctx.extra_env.clear();
    if (!ctx.netns_path.empty()) ctx.extra_env = TaskEndpointEnv(task, i, o_.ecs->api_endpoint);
    ANNEX_ASSIGN_OR_RETURN(ContainerPlan plan,
                           PlanContainer(ctx, def, c, ContainerOverride(task["overrides"], c.name), *image, workload));
    for (const BindMount& b : plan.launch.binds) {
      if (b.host_path.starts_with(ctx.bundle_root)) ANNEX_RETURN_IF_ERROR(os::PosixFileSystem().CreateDirs(b.host_path));
    }
    (void)o_.runtime->Delete(workload);  // leftovers of an earlier run of the same id
    ANNEX_RETURN_IF_ERROR(os::PosixFileSystem().CreateDirs(plan.launch.bundle_dir));
    ANNEX_RETURN_IF_ERROR(CreateBundle(plan.launch));
    supervisor::WorkloadSpec spec = o_.runtime->WorkloadFor(plan.launch.bundle_dir, workload, plan.limits);
    spec.stop_grace = plan.stop_grace;
    spec.log = plan.log;
    supervisor::RestartPolicy never;
    never.mode = supervisor::RestartMode::kNever;
    Result<supervisor::WorkloadState> started = o_.supervisor->Start(workload, spec, never);
    if (!started.ok()) return Status::Internal("CannotStartContainerError: " + started.status().message());
    state["lastStatus"] = "RUNNING";
    state["runtimeId"] = workload;
  }
  return Status::OK();
}

// Containers that ended get their exit code; an essential one ending stops the task.
bool TaskReconciler::Watch(Json& task) {
  Json& p = task[kPrivate];
  Json before = task;
  Result<std::optional<Json>> stored = o_.ecs->store->Get(EcsKind::kTaskDefinition, p.value("taskDefinitionKey", ""));
  Result<TaskDefinition> def = stored.ok() && *stored ? LoadTaskDefinition(*o_.ecs, p.value("account", ""), **stored)
                                                      : Result<TaskDefinition>(Status::NotFound("task definition"));
  // Containers still waiting on their dependencies start once those are met.
  bool waiting = std::any_of(task["containers"].begin(), task["containers"].end(),
                             [](const Json& c) { return c.value("lastStatus", "") == "PENDING"; });
  if (waiting) {
    if (Status s = StartContainers(task); !s.ok()) Fail(task, "TaskFailedToStart", s.message());
  }
  bool changed = false;
  for (size_t i = 0; i < task["containers"].size(); ++i) {
    Json& c = task["containers"][i];
    if (c.value("lastStatus", "") != "RUNNING") continue;
    std::string workload = WorkloadId(task, i);
    std::optional<supervisor::WorkloadState> w = o_.supervisor->Get(workload);
    if (w && Active(*w)) {
      if (def.ok() && i < def->containerDefinitions.size() && def->containerDefinitions[i].healthCheck) {
        health_.Watch(workload, *def->containerDefinitions[i].healthCheck);
        c["healthStatus"] = HealthStatusName(health_.Status(workload));
      }
      continue;
    }
    health_.Forget(workload);
    c["lastStatus"] = "STOPPED";
    changed = true;
    if (!w || !w->last_exit || !w->last_exit->known) {
      c["reason"] = "The container's process ended while the appliance was down";
    } else if (w->last_exit->oom_killed) {
      c["exitCode"] = 137;
      c["reason"] = "OutOfMemoryError: Container killed due to memory usage";
    } else {
      const supervisor::ExitStatus& s = w->last_exit->status;
      c["exitCode"] = s.exited ? s.code : 128 + s.signal;
    }
    bool essential = true;
    if (auto e = p.find("essential"); e != p.end() && e->is_array() && i < e->size()) essential = (*e)[i];
    if (essential) {
      std::string reason = c.contains("reason") && c["reason"].get<std::string>().starts_with("OutOfMemoryError")
                               ? c["reason"].get<std::string>()
                               : "Essential container in task exited";
      Fail(task, "EssentialContainerExited", reason);
    }
  }
  bool all_stopped = std::all_of(task["containers"].begin(), task["containers"].end(),
                                 [](const Json& c) { return c.value("lastStatus", "") == "STOPPED"; });
  if (all_stopped) Fail(task, "EssentialContainerExited", "Essential container in task exited");
  // The task is as healthy as its essential containers with checks.
  std::string task_health = "UNKNOWN";
  bool any = false, all_healthy = true;
  for (size_t i = 0; i < task["containers"].size(); ++i) {
    const Json& c = task["containers"][i];
    bool essential = !p.contains("essential") || i >= p["essential"].size() || p["essential"][i].get<bool>();
    if (!essential || !c.contains("healthStatus")) continue;
    any = true;
    if (c["healthStatus"] == "UNHEALTHY") task_health = "UNHEALTHY";
    all_healthy &= c["healthStatus"] == "HEALTHY";
  }
  if (task_health != "UNHEALTHY" && any && all_healthy) task_health = "HEALTHY";
  task["healthStatus"] = task_health;
  changed = changed || task != before;
  if (changed) task["version"] = task.value("version", 0) + 1;
  return changed;
}

// Whether container `c` may start now: every container it depends on has
// reached the condition. A condition that can no longer be met (SUCCESS of
// a container that failed) fails the task.
Result<bool> TaskReconciler::DependenciesMet(const Json& task, const TaskDefinition& def, const ContainerDefinition& c) {
  for (const ContainerDependency& d : c.dependsOn) {
    auto it = std::find_if(def.containerDefinitions.begin(), def.containerDefinitions.end(),
                           [&](const ContainerDefinition& x) { return x.name == d.containerName; });
    if (it == def.containerDefinitions.end()) return Status::InvalidArgument("unknown dependency " + d.containerName);
    const Json& dep = task["containers"][static_cast<size_t>(it - def.containerDefinitions.begin())];
    std::string status = dep.value("lastStatus", "");
    bool stopped = status == "STOPPED";
    if (d.condition == "START" && (status == "RUNNING" || stopped)) continue;
    if (d.condition == "COMPLETE" && stopped) continue;
    if (d.condition == "SUCCESS" && stopped) {
      if (dep.value("exitCode", -1) == 0) continue;
      return Status::FailedPrecondition("dependency " + d.containerName + " of container " + c.name +
                                        " did not exit successfully");
    }
    if (d.condition == "HEALTHY") {
      if (dep.value("healthStatus", "") == "HEALTHY") continue;
      if (stopped || dep.value("healthStatus", "") == "UNHEALTHY") {
        return Status::FailedPrecondition("dependency " + d.containerName + " of container " + c.name +
                                          " did not become healthy");
      }
    }
    return false;
  }
  return true;
}

// Asks every container to stop (SIGTERM; the supervisor's monitor sends
// SIGKILL after the container's stopTimeout); true once none runs.
bool TaskReconciler::StopContainers(Json& task) {
  bool all_ended = true;
  for (size_t i = 0; i < task["containers"].size(); ++i) {
    std::string workload = WorkloadId(task, i);
    std::optional<supervisor::WorkloadState> w = o_.supervisor->Get(workload);
    Json& c = task["containers"][i];
    if (!w || !Active(*w)) {
      health_.Forget(workload);
      if (c.value("lastStatus", "") != "STOPPED") {
        c["lastStatus"] = "STOPPED";
        if (w && w->last_exit && w->last_exit->known) {
          const supervisor::ExitStatus& s = w->last_exit->status;
          c["exitCode"] = w->last_exit->oom_killed ? 137 : s.exited ? s.code : 128 + s.signal;
        }
      }
      continue;
    }
    all_ended = false;
    if (w->phase != supervisor::WorkloadPhase::kStopping) {
      if (Status s = o_.supervisor->RequestStop(workload); !s.ok()) {
        log::Warn("containers: stopping a container", {{"workload", workload}, {"error", s.ToString()}});
      }
    }
  }
  return all_ended;
}

Status TaskReconciler::Deprovision(Json& task) {
  Json& p = task[kPrivate];
  const std::string id = p["id"];
  std::string bundle_root = os::JoinPath(o_.tasks_dir, id);
  for (size_t i = 0; i < task["containers"].size(); ++i) {
    std::string name = task["containers"][i].value("name", "");
    (void)o_.runtime->Delete(WorkloadId(task, i));
    ANNEX_RETURN_IF_ERROR(RemoveBundle(os::JoinPath(os::JoinPath(bundle_root, "bundles"), name)));
    if (o_.images) ANNEX_RETURN_IF_ERROR(o_.images->Release(ImageHolder(task, name)));
  }
  if (o_.network) ANNEX_RETURN_IF_ERROR(o_.network->Detach(p.value("networkId", "ecs-" + id)));
  std::error_code ec;
  std::filesystem::remove_all(bundle_root, ec);
  return Status::OK();
}

}  // namespace annex::containers
