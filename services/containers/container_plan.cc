#include "services/containers/container_plan.h"

#include <sys/resource.h>

#include <algorithm>
#include <map>

#include "appliance/os/file_system.h"
#include "services/containers/container_user.h"
#include "services/containers/image_config.h"

namespace annex::containers {
namespace {

// ECS's ulimit names and the RLIMIT_ each sets.
const std::map<std::string, int>& UlimitResources() {
  static const std::map<std::string, int> m = {
      {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
      {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK},
      {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
      {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},         {"rtprio", RLIMIT_RTPRIO},
      {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
  };
  return m;
}

// A path under `root` with no "..": the only host paths a task may mount.
bool UnderRoot(const std::string& path, const std::string& root) {
  if (path.find("/../") != std::string::npos || path.ends_with("/..")) return false;
  return path == root || path.starts_with(root + "/");
}

Result<std::vector<std::string>> StringList(const Json& j, const char* key) {
  std::vector<std::string> out;
  for (const Json& e : j.at(key)) {
    if (!e.is_string()) return Status::InvalidArgument(std::string(key) + " must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

const Json* ContainerOverride(const Json& overrides, const std::string& name) {
  auto list = overrides.find("containerOverrides");
  if (list == overrides.end() || !list->is_array()) return nullptr;
  for (const Json& o : *list) {
    if (o.is_object() && o.value("name", "") == name) return &o;
  }
  return nullptr;
}

Result<ContainerPlan> PlanContainer(const TaskContext& task, const TaskDefinition& def,
                                    const ContainerDefinition& c, const Json* override,
                                    const service::PreparedRootfs& image, const std::string& workload_id) {
  ContainerPlan plan;
  ContainerLaunch& launch = plan.launch;
  launch.id = workload_id;
  launch.rootfs_dir = image.rootfs_dir;
  launch.bundle_dir = os::JoinPath(os::JoinPath(task.bundle_root, "bundles"), c.name);
  launch.netns_path = task.netns_path;
  launch.hostname = task.hostname;

  // Process: the image's config under the definition's and the override's.
  ANNEX_ASSIGN_OR_RETURN(ImageConfig config, ParseImageConfig(image.image.config_json));
  ContainerOverrides merged;
  merged.entry_point = c.entryPoint;
  merged.command = c.command;
  std::map<std::string, std::string> env;
  for (const KeyValuePair& kv : c.environment) env[kv.name] = kv.value;
  if (override) {
    if (override->contains("command")) {
      ANNEX_ASSIGN_OR_RETURN(merged.command, StringList(*override, "command"));
    }
    if (auto e = override->find("environment"); e != override->end() && e->is_array()) {
      for (const Json& kv : *e) {
        if (kv.is_object() && kv.contains("name")) env[kv.value("name", "")] = kv.value("value", "");
      }
    }
  }
  // What ECS puts in every container's environment.
  env.emplace("AWS_REGION", task.region);
  env.emplace("AWS_DEFAULT_REGION", task.region);
  env.emplace("AWS_EXECUTION_ENV", task.fargate ? "AWS_ECS_FARGATE" : "AWS_ECS_EC2");
  for (const std::string& kv : task.extra_env) {
    size_t eq = kv.find('=');
    env[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged.env.push_back(k + "=" + v);
  merged.working_dir = c.workingDirectory.value_or("");
  merged.user = c.user.value_or("");
  ANNEX_ASSIGN_OR_RETURN(MergedProcess process, MergeImageConfig(config, merged, HostnameOf(launch)));
  launch.argv = std::move(process.argv);
  launch.env = std::move(process.env);
  launch.working_dir = process.working_dir;
  if (!process.user.empty()) {
    ANNEX_ASSIGN_OR_RETURN(ContainerUser user, ResolveContainerUser(image.rootfs_dir, process.user));
    launch.uid = user.uid;
    launch.gid = user.gid;
    launch.additional_gids = user.additional_gids;
  }

  // Volumes: host paths under the allowed root, or directories of the task's own.
  for (const MountPoint& m : c.mountPoints) {
    auto v = std::find_if(def.volumes.begin(), def.volumes.end(), [&](const Volume& v) { return v.name == m.sourceVolume; });
    if (v == def.volumes.end()) return Status::InvalidArgument("Unknown volume " + m.sourceVolume);
    std::string source;
    if (v->hostSourcePath) {
      if (!UnderRoot(*v->hostSourcePath, task.volume_root)) {
        return Status::InvalidArgument("Host path " + *v->hostSourcePath + " of volume " + v->name +
                                       " is outside the appliance's volume root " + task.volume_root);
      }
      source = *v->hostSourcePath;
    } else {
      source = os::JoinPath(os::JoinPath(task.bundle_root, "volumes"), v->name);
    }
    launch.binds.push_back({source, m.containerPath, m.readOnly});
  }
  for (const Ulimit& u : c.ulimits) {
    auto r = UlimitResources().find(u.name);
    if (r == UlimitResources().end()) return Status::InvalidArgument("Unknown ulimit " + u.name);
    launch.rlimits.push_back({r->second, static_cast<uint64_t>(u.softLimit), static_cast<uint64_t>(u.hardLimit)});
  }

  // Limits: the container's own, else the task's (Fargate sizes a task as a whole).
  int64_t memory_mib = c.memory.value_or(def.memory.value_or(0));
  if (override && override->contains("memory") && (*override)["memory"].is_number_integer()) {
    memory_mib = (*override)["memory"].get<int64_t>();
  }
  plan.limits.memory_max_bytes = static_cast<uint64_t>(memory_mib) << 20;
  // memoryReservation: kept from reclaim under memory pressure, as Docker's --memory-reservation does.
  int64_t reservation_mib = c.memoryReservation.value_or(0);
  if (override && override->contains("memoryReservation") && (*override)["memoryReservation"].is_number_integer()) {
    reservation_mib = (*override)["memoryReservation"].get<int64_t>();
  }
  if (memory_mib > 0) reservation_mib = std::min(reservation_mib, memory_mib);
  plan.limits.memory_low_bytes = static_cast<uint64_t>(std::max<int64_t>(reservation_mib, 0)) << 20;
  int64_t cpu = c.cpu > 0 ? c.cpu : def.cpu.value_or(0);
  if (cpu > 0) {
    plan.limits.cpu_weight = static_cast<uint32_t>(std::clamp<int64_t>(cpu * 100 / 1024, 1, 10000));
    // Fargate gives a task exactly its vCPUs; EC2 tasks share the host by weight.
    if (task.fargate) plan.limits.cpu_quota_us = static_cast<uint64_t>(cpu) * plan.limits.cpu_period_us / 1024;
  }
  plan.limits.pids_max = 4096;
  plan.stop_grace = std::chrono::seconds(c.stopTimeout.value_or(30));

  if (c.logConfiguration && c.logConfiguration->logDriver == "awslogs") {
    const auto& o = c.logConfiguration->options;
    auto opt = [&](const char* k) { auto it = o.find(k); return it == o.end() ? std::string() : it->second; };
    plan.log.account = task.account;
    plan.log.group = opt("awslogs-group");
    std::string prefix = opt("awslogs-stream-prefix");
    // ECS names the stream prefix/container/task-id.
    plan.log.stream = (prefix.empty() ? "" : prefix + "/") + c.name + "/" + task.task_id;
  }
  return plan;
}

}  // namespace annex::containers
