#include "appliance/supervisor/workload_cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>
#include <thread>

#include "appliance/core/strings.h"
#include "appliance/supervisor/shim/shim_protocol.h"

namespace annex::supervisor {
namespace {

constexpr std::array<const char*, 3> kControllers = {"memory", "cpu", "pids"};

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Cgroup files take one write each; a fake tree in tests is plain files, so
// create them when missing (cgroupfs never lets that happen for real).
Status WriteValue(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  ssize_t n = ::write(fd, value.data(), value.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return Status::FromErrno(n < 0 ? e : EIO, "write '" + std::string(value) + "' to " + path);
  }
  return Status::OK();
}

std::string ReadText(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return Status::FromErrno(errno, "mkdir " + path);
  return Status::OK();
}

std::string OrMax(uint64_t v, std::string_view unlimited) {
  return v == 0 ? std::string(unlimited) : std::to_string(v);
}

}  // namespace

uint64_t ParseOomKills(std::string_view events) {
  for (std::string_view line : Split(events, '\n')) {
    std::string_view key = shim::kOomKillKey;
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      return ParseUint(Trim(line.substr(key.size() + 1))).value_or(0);
    }
  }
  return 0;
}

WorkloadCgroups::WorkloadCgroups(CgroupLayout layout, std::string root)
    : layout_(std::move(layout)), root_(std::move(root)) {
  unified_ = layout_.mode == CgroupMode::kUnified;
  if (unified_) {
    Hierarchy h{layout_.unified_mount, {}};
    for (std::string_view c : Split(layout_.unified_controllers, ' ')) {
      for (const char* wanted : kControllers) {
        if (c == wanted) h.controllers.emplace_back(wanted);
      }
    }
    hierarchies_.push_back(std::move(h));
    return;
  }
  // v1: one hierarchy per mount point (cpu and cpuacct may share one).
  for (const char* c : kControllers) {
    auto it = layout_.v1_controllers.find(c);
    if (it == layout_.v1_controllers.end()) continue;
    auto same = std::find_if(hierarchies_.begin(), hierarchies_.end(),
                             [&](const Hierarchy& h) { return h.mount == it->second; });
    if (same == hierarchies_.end()) hierarchies_.push_back({it->second, {c}});
    else same->controllers.emplace_back(c);
  }
}

bool WorkloadCgroups::Has(const std::string& controller) const {
  for (const auto& h : hierarchies_) {
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end()) return true;
  }
  return false;
}

CgroupPaths WorkloadCgroups::PathsOf(const std::string& id) const {
  CgroupPaths paths;
  for (const auto& h : hierarchies_) {
    paths.dirs.push_back(DirOf(h, id));
    if (std::find(h.controllers.begin(), h.controllers.end(), "memory") != h.controllers.end()) {
      paths.oom_events = DirOf(h, id) + (unified_ ? "/memory.events" : "/memory.oom_control");
    }
  }
  return paths;
}

Status WorkloadCgroups::EnableV2Controllers(const Hierarchy& h) const {
  std::string enable;
  for (const auto& c : h.controllers) enable += (enable.empty() ? "+" : " +") + c;
  // Each level down to <root> passes the controllers on to its children.
  std::string dir = h.mount;
  std::vector<std::string_view> parts = Split(root_, '/');
  for (size_t i = 0; i <= parts.size(); ++i) {
    if (!enable.empty()) ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/cgroup.subtree_control", enable));
    if (i == parts.size()) break;
    if (parts[i].empty()) continue;
    dir += "/" + std::string(parts[i]);
    ANNEX_RETURN_IF_ERROR(MakeDir(dir));
  }
  return Status::OK();
}

Status WorkloadCgroups::WriteV1Limits(const Hierarchy& h, const std::string& dir, const ResourceLimits& l) const {
  for (const auto& c : h.controllers) {
    if (c == "memory") {
      // With swap accounting, memsw (memory + swap) must never be below the
      // limit: lift it, set the limit, then hold swap at zero.
      bool memsw = Exists(dir + "/memory.memsw.limit_in_bytes");
      if (memsw) ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.memsw.limit_in_bytes", "-1"));
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.limit_in_bytes", OrMax(l.memory_max_bytes, "-1")));
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.soft_limit_in_bytes", OrMax(l.memory_low_bytes, "-1")));
      if (memsw && l.memory_max_bytes) {
        ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.memsw.limit_in_bytes", std::to_string(l.memory_max_bytes)));
      }
    } else if (c == "cpu") {
      uint64_t shares = l.cpu_weight ? std::max<uint64_t>(2, uint64_t{l.cpu_weight} * 1024 / 100) : 1024;
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/cpu.shares", std::to_string(shares)));
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/cpu.cfs_quota_us", "-1"));  // a new period is refused under a quota
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/cpu.cfs_period_us", std::to_string(l.cpu_period_us)));
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/cpu.cfs_quota_us", OrMax(l.cpu_quota_us, "-1")));
    } else if (c == "pids") {
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/pids.max", OrMax(l.pids_max, "max")));
    }
  }
  return Status::OK();
}

Status WorkloadCgroups::WriteV2Limits(const std::string& dir, const ResourceLimits& l) const {
  if (Has("memory")) {
    ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.max", OrMax(l.memory_max_bytes, "max")));
    ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.low", std::to_string(l.memory_low_bytes)));
    if (Exists(dir + "/memory.swap.max")) {  // a hard limit: no swapping past it
      ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/memory.swap.max", l.memory_max_bytes ? "0" : "max"));
    }
  }
  if (Has("cpu")) {
    ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/cpu.weight", std::to_string(l.cpu_weight ? l.cpu_weight : 100)));
    ANNEX_RETURN_IF_ERROR(
        WriteValue(dir + "/cpu.max", OrMax(l.cpu_quota_us, "max") + " " + std::to_string(l.cpu_period_us)));
  }
  if (Has("pids")) ANNEX_RETURN_IF_ERROR(WriteValue(dir + "/pids.max", OrMax(l.pids_max, "max")));
  return Status::OK();
}

Result<CgroupPaths> WorkloadCgroups::Create(const std::string& id, const ResourceLimits& limits) const {
  if (hierarchies_.empty()) {
    if (limits.memory_max_bytes || limits.memory_low_bytes || limits.cpu_weight || limits.cpu_quota_us || limits.pids_max) {
      return Status::FailedPrecondition("resource limits need cgroups, and this machine offers none");
    }
    return CgroupPaths{};
  }
  for (auto [wanted, controller] : {std::pair{limits.memory_max_bytes != 0 || limits.memory_low_bytes != 0, "memory"},
                                    std::pair{limits.cpu_weight != 0 || limits.cpu_quota_us != 0, "cpu"},
                                    std::pair{limits.pids_max != 0, "pids"}}) {
    if (wanted && !Has(controller)) {
      return Status::FailedPrecondition(std::string("the ") + controller + " cgroup controller is not available (" +
                                        layout_.Describe() + ")");
    }
  }
  for (const auto& h : hierarchies_) {
    if (unified_) {
      ANNEX_RETURN_IF_ERROR(EnableV2Controllers(h));
    } else {
      std::string dir = h.mount;
      for (std::string_view part : Split(root_, '/')) {
        if (part.empty()) continue;
        dir += "/" + std::string(part);
        ANNEX_RETURN_IF_ERROR(MakeDir(dir));
      }
    }
    std::string dir = DirOf(h, id);
    ANNEX_RETURN_IF_ERROR(MakeDir(dir));
    ANNEX_RETURN_IF_ERROR(unified_ ? WriteV2Limits(dir, limits) : WriteV1Limits(h, dir, limits));
  }
  return PathsOf(id);
}

std::vector<pid_t> WorkloadCgroups::Procs(const std::string& id) const {
  std::vector<pid_t> pids;
  std::set<pid_t> seen;
  for (const auto& h : hierarchies_) {  // the same processes, unless a join was cut short
    std::string text = ReadText(DirOf(h, id) + "/cgroup.procs");
    for (std::string_view line : Split(text, '\n')) {
      auto pid = ParseUint(Trim(line));
      if (pid && *pid > 0 && seen.insert(static_cast<pid_t>(*pid)).second) pids.push_back(static_cast<pid_t>(*pid));
    }
  }
  return pids;
}

size_t WorkloadCgroups::KillAll(const std::string& id, pid_t spare) const {
  std::set<pid_t> signalled;  // a dying process stays listed for a moment
  for (int round = 0; round < 200; ++round) {
    bool any = false;
    for (pid_t pid : Procs(id)) {
      if (pid == spare) continue;
      if (::kill(pid, SIGKILL) == 0) {
        any = true;
        signalled.insert(pid);
      }
    }
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return signalled.size();
}

uint64_t WorkloadCgroups::OomKills(const std::string& id) const {
  std::string file = PathsOf(id).oom_events;
  return file.empty() ? 0 : ParseOomKills(ReadText(file));
}

Status WorkloadCgroups::Remove(const std::string& id) const {
  for (const auto& h : hierarchies_) {
    std::string dir = DirOf(h, id);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
    return Status::FromErrno(errno, "rmdir " + dir);
  }
  return Status::OK();
}

std::vector<std::string> WorkloadCgroups::Ids() const {
  std::set<std::string> ids;
  for (const auto& h : hierarchies_) {
    std::string root = h.mount + "/" + root_;
    DIR* d = ::opendir(root.c_str());
    if (!d) continue;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') ids.insert(e->d_name);
    }
    ::closedir(d);
  }
  return {ids.begin(), ids.end()};
}

Status WorkloadCgroups::RemoveRoot() const {
  for (const auto& h : hierarchies_) {
    std::vector<std::string_view> parts = Split(root_, '/');
    for (size_t n = parts.size(); n > 0; --n) {  // deepest first; stop at a level still in use
      std::string dir = h.mount;
      for (size_t i = 0; i < n; ++i) dir += "/" + std::string(parts[i]);
      if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
        if (errno == EBUSY || errno == ENOTEMPTY) break;
        return Status::FromErrno(errno, "rmdir " + dir);
      }
    }
  }
  return Status::OK();
}

}  // namespace annex::supervisor
