// The supervisor's monitor thread: shim exits (epoll over pidfds), restart
// timers and stop escalation.

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "appliance/core/log.h"
#include "appliance/supervisor/process_identity.h"
#include "appliance/supervisor/supervisor.h"

namespace annex::supervisor {

void Supervisor::WakeMonitor() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

std::chrono::milliseconds Supervisor::UntilNextTimer() const {
  auto sleep = options_.max_sleep;
  os::MonoTime now = clock_.MonotonicNow();
  for (const auto& [id, e] : entries_) {
    for (const auto& at : {e->restart_at, e->kill_at}) {
      if (!at) continue;
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*at - now) + std::chrono::milliseconds(1);
      sleep = std::clamp(until, std::chrono::milliseconds(0), sleep);
    }
  }
  return sleep;
}

void Supervisor::MonitorLoop() {
  constexpr int kBatch = 64;
  struct epoll_event events[kBatch];
  while (!stopping_) {
    std::chrono::milliseconds sleep;
    {
      std::lock_guard lock(mu_);
      sleep = UntilNextTimer();
    }
    int n = ::epoll_wait(epoll_fd_, events, kBatch, static_cast<int>(sleep.count()));
    if (n < 0 && errno != EINTR) {
      log::Error("supervisor: epoll_wait failed", {{"errno", std::to_string(errno)}});
      std::this_thread::sleep_for(options_.max_sleep);
    }
    if (stopping_) return;
    std::lock_guard lock(mu_);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        ssize_t ignored = ::read(wake_fd_, &count, sizeof count);
        (void)ignored;
        continue;
      }
      auto it = by_pidfd_.find(fd);
      if (it != by_pidfd_.end()) OnShimExit(*it->second);
    }
    os::MonoTime now = clock_.MonotonicNow();
    for (auto& [id, e] : entries_) {
      if (e->kill_at && *e->kill_at <= now) EscalateStop(*e);
      if (e->restart_at && *e->restart_at <= now) RestartDue(*e);
    }
  }
}

// The run's shim has exited (it wrote the exit file first, unless it was
// killed itself).
void Supervisor::OnShimExit(Entry& e) {
  siginfo_t info{};
  // Reaps it if it is still our child; an adopted shim is init's to reap.
  ::waitid(P_PIDFD, static_cast<id_t>(e.shim_pidfd), &info, WEXITED | WNOHANG);
  ClosePidfds(e);
  LastExit exit;
  exit.ended_unix_ms = NowUnixMs();
  auto file = ReadExitFile(e.state.state_dir);
  if (file.ok() && *file && (*file)->run == e.state.run) {
    exit.status = (*file)->status;
    exit.oom_killed = (*file)->oom_killed;
  } else {
    // The shim died without a word (killed, or the machine went down): the
    // workload may linger, unwatched; end it.
    cgroups_.KillAll(e.state.id, 0);
    exit.known = false;
    exit.status = ExitStatus{false, 0, SIGKILL};
    if (!file.ok()) exit.error = file.status().ToString();
  }
  OnRunEnded(e, std::move(exit));
}

void Supervisor::OnRunEnded(Entry& e, LastExit exit) {
  WorkloadState& s = e.state;
  e.kill_at.reset();
  log::Info("supervisor: workload ended", {{"id", s.id},
                                           {"status", exit.known ? exit.status.Describe() : "unknown"},
                                           {"oom", exit.oom_killed ? "yes" : "no"}});
  if (s.stop_requested) {
    s.phase = WorkloadPhase::kExited;
  } else {
    RestartTracker::Decision d = e.tracker.OnExit(exit.status, e.started, clock_.MonotonicNow());
    s.crash_loop = d.crash_loop;
    if (d.restart) {
      s.phase = d.crash_loop ? WorkloadPhase::kCrashLoop : WorkloadPhase::kRestarting;
      e.restart_at = d.at;
    } else {
      s.phase = WorkloadPhase::kExited;
    }
  }
  s.last_exit = std::move(exit);
  Status st = Persist(s);
  if (!st.ok()) log::Error("supervisor: recording an exit failed", {{"id", s.id}, {"error", st.ToString()}});
  changed_.notify_all();
}

void Supervisor::RestartDue(Entry& e) {
  e.restart_at.reset();
  Status launched = LaunchRun(e);
  if (!launched.ok()) {
    // It could not even start (its program vanished, a limit is refused):
    // an exit like any other, so the policy backs off and may call it a loop.
    LastExit exit;
    exit.status = ExitStatus{true, 127, 0};
    exit.ended_unix_ms = NowUnixMs();
    exit.error = launched.ToString();
    e.started = clock_.MonotonicNow();
    ++e.state.restarts;
    OnRunEnded(e, std::move(exit));
    return;
  }
  ++e.state.restarts;
  Status st = Persist(e.state);
  if (!st.ok()) log::Error("supervisor: recording a restart failed", {{"id", e.state.id}, {"error", st.ToString()}});
  changed_.notify_all();
}

// The grace is over: SIGKILL the workload and anything else in its cgroup,
// sparing the shim, which then records the end.
void Supervisor::EscalateStop(Entry& e) {
  e.kill_at.reset();
  if (e.pid_pidfd >= 0) SignalPidfd(e.pid_pidfd, SIGKILL).IgnoreError();
  cgroups_.KillAll(e.state.id, e.state.shim_pid);
}

}  // namespace annex::supervisor
