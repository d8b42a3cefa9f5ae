// Open(): the records against what runs on the machine. Adopts live runs,
// records runs that ended while annexd was down (and applies their restart
// policy), and kills what no record owns.

#include <dirent.h>
#include <poll.h>
#include <unistd.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "appliance/core/log.h"
#include "appliance/supervisor/process_identity.h"
#include "appliance/supervisor/supervisor.h"

namespace annex::supervisor {
namespace {

bool Exited(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// The shim's child, from /proc/<shim>/task/<shim>/children: the shim
// (verified by its pidfd just before) has exactly one, the workload. Not
// found (the shim had not forked it yet): the PID stays 0 and the run is
// watched through its shim alone.
void FindWorkloadOfShim(WorkloadState& s) {
  std::ifstream in("/proc/" + std::to_string(s.shim_pid) + "/task/" + std::to_string(s.shim_pid) + "/children");
  long child = 0;
  if (!(in >> child) || child <= 0) return;
  auto start_time = ProcessStartTime(static_cast<pid_t>(child));
  if (!start_time) return;
  s.pid = static_cast<pid_t>(child);
  s.pid_start_time = *start_time;
}

}  // namespace

Status Supervisor::Recover() {
  std::lock_guard lock(mu_);
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(table_));
    ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
    while (cursor.Valid()) {
      ANNEX_ASSIGN_OR_RETURN(WorkloadState s, DecodeWorkloadState(cursor.key(), cursor.value()));
      std::string id = s.id;
      entries_.emplace(std::move(id), std::make_unique<Entry>(std::move(s)));
      ANNEX_RETURN_IF_ERROR(cursor.Next());
    }
  }
  for (auto& [id, e] : entries_) RecoverEntry(*e);
  SweepOrphans();
  log::Info("supervisor: recovered",
            {{"workloads", std::to_string(entries_.size())}, {"adopted", std::to_string(recovery_.adopted)},
             {"ended_while_down", std::to_string(recovery_.ended_while_down)},
             {"orphans_killed", std::to_string(recovery_.orphans_killed)},
             {"cgroups", std::string(CgroupModeName(cgroups_.mode()))}});
  return Status::OK();
}

void Supervisor::RecoverEntry(Entry& e) {
  WorkloadState& s = e.state;
  os::MonoTime now = clock_.MonotonicNow();
  bool live_phase = s.phase == WorkloadPhase::kRunning || s.phase == WorkloadPhase::kStopping;
  if (live_phase) {
    auto shim = OpenVerifiedPidfd(s.shim_pid, s.shim_start_time);
    if (shim.ok() && Exited(*shim)) {  // a zombie nobody reaped yet: it has ended
      ::close(*shim);
      shim = Status::NotFound("exited");
    }
    if (shim.ok()) {
      e.shim_pidfd = *shim;
      // A record committed while the shim was starting the workload names
      // only the shim: the workload is its one child.
      if (s.pid == 0) FindWorkloadOfShim(s);
      auto pid = OpenVerifiedPidfd(s.pid, s.pid_start_time);
      e.pid_pidfd = pid.ok() ? *pid : -1;
      // The run's age, carried over from the wall clock, for the backoff's "healthy run".
      e.started = now - std::chrono::milliseconds(std::max<int64_t>(0, NowUnixMs() - s.started_unix_ms));
      Watch(e);
      if (s.phase == WorkloadPhase::kStopping) {  // annexd died mid-stop: finish it
        if (e.pid_pidfd >= 0) SignalPidfd(e.pid_pidfd, s.spec.stop_signal).IgnoreError();
        e.kill_at = now + s.spec.stop_grace;
      }
      ++recovery_.adopted;
      return;
    }
    // Its shim is gone: the run ended while we were down (or the machine
    // restarted). Its exit file says how, if the shim got to write it.
    ++recovery_.ended_while_down;
    e.started = now - std::chrono::milliseconds(std::max<int64_t>(0, NowUnixMs() - s.started_unix_ms));
    recovery_.orphans_killed += cgroups_.KillAll(s.id, 0);
    LastExit exit;
    exit.ended_unix_ms = NowUnixMs();
    auto file = ReadExitFile(s.state_dir);
    if (file.ok() && *file && (*file)->run == s.run) {
      exit.status = (*file)->status;
      exit.oom_killed = (*file)->oom_killed;
    } else {
      exit.known = false;
      exit.status = ExitStatus{false, 0, SIGKILL};
    }
    OnRunEnded(e, std::move(exit));
    return;
  }
  // No live run on record. Anything in its cgroup is a run started just
  // before a crash, whose record never said so.
  recovery_.orphans_killed += cgroups_.KillAll(s.id, 0);
  if (s.phase == WorkloadPhase::kRestarting || s.phase == WorkloadPhase::kCrashLoop) {
    e.started = now;
    e.restart_at = now + (s.phase == WorkloadPhase::kCrashLoop ? s.policy.max_backoff : s.policy.initial_backoff);
  }
}

// Cgroups and state directories no record owns: starts cut short by a crash
// before their record was committed.
void Supervisor::SweepOrphans() {
  for (const std::string& id : cgroups_.Ids()) {
    if (entries_.contains(id)) continue;
    recovery_.orphans_killed += cgroups_.KillAll(id, 0);
    for (int i = 0; i < 100 && !cgroups_.Remove(id).ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::string root = options_.data_dir + "/workloads";
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(root, ec)) {
    std::string id = dir.path().filename().string();
    if (!entries_.contains(id)) std::filesystem::remove_all(dir.path(), ec);
  }
}

}  // namespace annex::supervisor
