#include "appliance/supervisor/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "appliance/core/log.h"
#include "appliance/supervisor/process_identity.h"
#include "appliance/supervisor/shim/shim_protocol.h"

namespace annex::supervisor {
namespace {

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool HasLiveRun(WorkloadPhase p) { return p == WorkloadPhase::kRunning || p == WorkloadPhase::kStopping; }

}  // namespace

Result<std::unique_ptr<Supervisor>> Supervisor::Open(Options options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("supervisor needs a data dir");
  if (options.shim_path.empty()) options.shim_path = DefaultShimPath();
  if (::access(options.shim_path.c_str(), X_OK) != 0) {
    return Status::FailedPrecondition("annex-shim not found at " + options.shim_path);
  }
  CgroupLayout layout;
  if (options.layout) {
    layout = *options.layout;
  } else {
    ANNEX_ASSIGN_OR_RETURN(layout, DetectCgroupLayout());
    // A start would otherwise wait 10–30 ms on the kernel to move the shim into its cgroups.
    if (::geteuid() == 0 && !layout.unified_mount.empty()) {
      if (Status s = FavorDynamicCgroupModifications(layout); !s.ok()) {
        log::Warn("supervisor: workload starts wait for each cgroup move", {{"error", s.ToString()}});
      }
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir + "/workloads", ec);
  if (ec) return Status::IOError("cannot create " + options.data_dir + ": " + ec.message());
  int lock_fd = ::open((options.data_dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Status::FromErrno(errno, "open LOCK");
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return Status::Unavailable("another supervisor holds " + options.data_dir);
  }
  store::LmdbEnv::Options env_options;
  env_options.map_size = size_t{1} << 30;  // records are small; a thousand workloads fit in a few MiB
  auto env = store::LmdbEnv::Open(options.data_dir + "/db", env_options);
  if (!env.ok()) {
    ::close(lock_fd);
    return env.status();
  }
  auto table = (*env)->OpenTable("workloads");
  if (!table.ok()) {
    ::close(lock_fd);
    return table.status();
  }
  std::unique_ptr<Supervisor> s(
      new Supervisor(std::move(options), std::move(*env), *table, std::move(layout), lock_fd));
  if (s->epoll_fd_ < 0 || s->wake_fd_ < 0) return Status::FromErrno(errno, "epoll/eventfd");
  ANNEX_RETURN_IF_ERROR(s->Recover());
  s->monitor_ = std::thread([p = s.get()] { p->MonitorLoop(); });
  return s;
}

Supervisor::Supervisor(Options options, std::unique_ptr<store::LmdbEnv> env, store::Table table, CgroupLayout layout,
                       int lock_fd)
    : options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : os::SystemClock()),
      env_(std::move(env)),
      table_(table),
      cgroups_(std::move(layout), options_.cgroup_root),
      launcher_(options_.shim_path),
      lock_fd_(lock_fd),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (epoll_fd_ >= 0 && wake_fd_ >= 0) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
}

Supervisor::~Supervisor() {
  stopping_ = true;
  WakeMonitor();
  if (monitor_.joinable()) monitor_.join();
  std::lock_guard lock(mu_);
  for (auto& [id, e] : entries_) ClosePidfds(*e);  // the workloads keep running
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

int64_t Supervisor::NowUnixMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
}

Status Supervisor::Persist(const WorkloadState& state) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(txn.Put(table_, state.id, EncodeWorkloadState(state)));
  return txn.Commit();
}

Status Supervisor::Unpersist(const std::string& id) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(txn.Delete(table_, id));
  return txn.Commit();
}

// Starts the next run of `e`: cgroup (limits rewritten), a fresh exit file
// slot, the shim. On success the run is watched; the caller persists.
Status Supervisor::LaunchRun(Entry& e, const ShimLauncher::Spawned& spawned) {
  WorkloadState& s = e.state;
  std::error_code ec;
  std::filesystem::create_directories(s.state_dir, ec);
  if (ec) return Status::IOError("cannot create " + s.state_dir + ": " + ec.message());
  ResourceLimits limits = s.spec.limits;
  if (limits.pids_max) ++limits.pids_max;  // the shim shares the workload's cgroup
  ANNEX_ASSIGN_OR_RETURN(CgroupPaths paths, cgroups_.Create(s.id, limits));
  if (::unlink((s.state_dir + "/" + shim::kExitFile).c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove the last run's exit file");
  }
  ANNEX_ASSIGN_OR_RETURN(ShimRun run, launcher_.Launch(s.spec, s.state_dir, s.run + 1, paths, s.stdout_path,
                                                       s.stderr_path, spawned));
  ++s.run;
  s.shim_pid = run.shim_pid;
  s.shim_start_time = run.shim_start_time;
  s.pid = run.pid;
  s.pid_start_time = run.pid_start_time;
  s.started_unix_ms = NowUnixMs();
  s.phase = WorkloadPhase::kRunning;
  e.started = clock_.MonotonicNow();
  e.shim_pidfd = run.shim_pidfd;
  auto pidfd = OpenVerifiedPidfd(run.pid, run.pid_start_time);
  e.pid_pidfd = pidfd.ok() ? *pidfd : -1;  // a quick workload may be gone already
  e.restart_at.reset();
  e.kill_at.reset();
  Watch(e);
  return Status::OK();
}

void Supervisor::Watch(Entry& e) {
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = e.shim_pidfd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, e.shim_pidfd, &ev);
  by_pidfd_[e.shim_pidfd] = &e;
}

void Supervisor::ClosePidfds(Entry& e) {
  if (e.shim_pidfd >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, e.shim_pidfd, nullptr);
    by_pidfd_.erase(e.shim_pidfd);
    ::close(e.shim_pidfd);
    e.shim_pidfd = -1;
  }
  if (e.pid_pidfd >= 0) {
    ::close(e.pid_pidfd);
    e.pid_pidfd = -1;
  }
}

Result<WorkloadState> Supervisor::Start(const std::string& id, const WorkloadSpec& spec, const RestartPolicy& policy) {
  if (!IsValidId(id)) return Status::InvalidArgument("workload id must be 1-128 of [A-Za-z0-9._-]: '" + id + "'");
  ANNEX_RETURN_IF_ERROR(ValidateSpec(spec));
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second->state.phase != WorkloadPhase::kExited) {
    return Status::AlreadyExists("workload " + id + " is " + std::string(WorkloadPhaseName(it->second->state.phase)));
  }
  WorkloadState s;
  s.id = id;
  s.spec = spec;
  s.policy = policy;
  s.state_dir = options_.data_dir + "/workloads/" + id;
  s.stdout_path = s.state_dir + "/" + shim::kStdoutFile;
  s.stderr_path = s.state_dir + "/" + shim::kStderrFile;
  if (it != entries_.end()) s.run = it->second->state.run;  // run numbers go on: exit files stay unambiguous
  auto entry = std::make_unique<Entry>(std::move(s));
  // The record is committed while the shim joins the cgroup and starts the
  // workload — the two take about as long — so a start costs one of them,
  // not both. It names the shim; the workload's PID, not yet known, is
  // found as the shim's child if annexd has to re-adopt the run.
  bool recorded = false;
  auto record = [&](pid_t shim_pid, uint64_t shim_start_time) -> Status {
    WorkloadState starting = entry->state;
    ++starting.run;
    starting.phase = WorkloadPhase::kRunning;
    starting.shim_pid = shim_pid;
    starting.shim_start_time = shim_start_time;
    starting.pid = 0;
    starting.pid_start_time = 0;
    starting.started_unix_ms = NowUnixMs();
    ANNEX_RETURN_IF_ERROR(Persist(starting));
    recorded = true;
    return Status::OK();
  };
  if (Status launched = LaunchRun(*entry, record); !launched.ok()) {
    if (it == entries_.end()) {  // leave no trace of a workload that never ran
      if (recorded) Unpersist(id).IgnoreError();
      cgroups_.Remove(id).IgnoreError();
      std::error_code ec;
      std::filesystem::remove_all(entry->state.state_dir, ec);
    } else if (recorded) {
      Persist(it->second->state).IgnoreError();  // the run it replaced stays on record
    }
    return launched;
  }
  if (it != entries_.end()) {
    ClosePidfds(*it->second);
    it->second = std::move(entry);
  } else {
    it = entries_.emplace(id, std::move(entry)).first;
  }
  changed_.notify_all();
  return it->second->state;
}

Status Supervisor::BeginStopLocked(Entry& e, std::chrono::milliseconds grace) {
  e.state.stop_requested = true;
  e.restart_at.reset();
  if (!HasLiveRun(e.state.phase)) {
    e.state.phase = WorkloadPhase::kExited;
    ANNEX_RETURN_IF_ERROR(Persist(e.state));
    changed_.notify_all();
    return Status::OK();
  }
  if (e.state.phase == WorkloadPhase::kRunning) {
    e.state.phase = WorkloadPhase::kStopping;
    ANNEX_RETURN_IF_ERROR(Persist(e.state));  // a restarted annexd finishes the stop
    // To the workload itself; through the shim (which forwards) if we hold no pidfd of it.
    SignalPidfd(e.pid_pidfd >= 0 ? e.pid_pidfd : e.shim_pidfd, e.state.spec.stop_signal).IgnoreError();
    e.kill_at = clock_.MonotonicNow() + grace;
    WakeMonitor();
  }
  return Status::OK();
}

Status Supervisor::RequestStop(const std::string& id, std::optional<std::chrono::milliseconds> grace) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::NotFound("no workload " + id);
  return BeginStopLocked(*it->second, grace.value_or(it->second->state.spec.stop_grace));
}

Result<WorkloadState> Supervisor::Stop(const std::string& id, std::optional<std::chrono::milliseconds> grace) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::NotFound("no workload " + id);
  Entry& e = *it->second;
  auto wait = grace.value_or(e.state.spec.stop_grace);
  ANNEX_RETURN_IF_ERROR(BeginStopLocked(e, wait));
  if (!HasLiveRun(e.state.phase)) return e.state;
  // The monitor escalates and records the end; SIGKILL takes effect in well under 30 s.
  Entry* target = &e;
  changed_.wait_for(lock, wait + std::chrono::seconds(30), [&] {
    auto now = entries_.find(id);
    return now == entries_.end() || now->second.get() != target || !HasLiveRun(target->state.phase);
  });
  it = entries_.find(id);
  if (it == entries_.end() || it->second.get() != target) return Status::Aborted("workload " + id + " was replaced");
  if (HasLiveRun(target->state.phase)) return Status::Internal("workload " + id + " survived SIGKILL");
  return target->state;
}

Status Supervisor::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status::NotFound("no workload " + id);
  if (HasLiveRun(it->second->state.phase)) return Status::FailedPrecondition("workload " + id + " is running");
  {
    ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
    ANNEX_RETURN_IF_ERROR(txn.Delete(table_, id));
    ANNEX_RETURN_IF_ERROR(txn.Commit());
  }
  std::string state_dir = it->second->state.state_dir;
  ClosePidfds(*it->second);
  entries_.erase(it);
  changed_.notify_all();
  cgroups_.KillAll(id, 0);  // nothing should be left; make sure
  Status removed;
  for (int i = 0; i < 100; ++i) {  // killed processes leave their cgroup as they finish exiting
    removed = cgroups_.Remove(id);
    if (removed.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!removed.ok()) log::Warn("supervisor: workload cgroup not removed", {{"id", id}, {"error", removed.ToString()}});
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  return Status::OK();
}

std::optional<WorkloadState> Supervisor::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second->state;
}

std::vector<WorkloadState> Supervisor::List() const {
  std::lock_guard lock(mu_);
  std::vector<WorkloadState> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(e->state);
  return out;
}

std::optional<WorkloadState> Supervisor::WaitFor(const std::string& id,
                                                 const std::function<bool(const WorkloadState&)>& done,
                                                 std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  std::optional<WorkloadState> last;
  changed_.wait_for(lock, timeout, [&] {
    auto it = entries_.find(id);
    if (it == entries_.end()) return true;
    last = it->second->state;
    return done(*last);
  });
  return last;
}

}  // namespace annex::supervisor
