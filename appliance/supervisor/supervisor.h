#pragma once
// Supervisor: runs the appliance's workloads (containers, database
// instances, function sandboxes) as supervised processes that outlive
// annexd.
//
// Each run of a workload is the child of its own small annex-shim
// (shim/shim_protocol.h) in a session and cgroup of its own, its output
// appended to files in its state directory. annexd only watches: a kill -9
// of annexd stops no workload and blocks none (no pipe of annexd's), and the
// shim writes how the run ended to a file, so an exit while annexd was down
// is still known afterwards.
//
// Every workload has a record in the supervisor's own LMDB environment
// (spec, restart policy, shim and workload PIDs with their start times,
// phase, last exit, restart count, crash-loop flag). Open() reconciles the
// records with the machine: a workload whose shim still runs (same PID and
// start time) is adopted; one that ended while annexd was down gets the exit
// status its shim recorded and its restart policy applied; processes in the
// workload cgroup subtree that no record owns (a start interrupted before
// its record was committed) are killed.
//
// A monitor thread waits on the shims' pidfds (epoll) and runs restart and
// stop-escalation timers on the injectable clock, re-reading it at least
// every `max_sleep`.
//
// Layout under `data_dir`: db/ (LMDB), workloads/<id>/ (stdout.log,
// stderr.log, shim.log, exit), LOCK. Cgroups: <hierarchy>/<cgroup_root>/<id>.
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/os/clock.h"
#include "appliance/store/lmdb_env.h"
#include "appliance/supervisor/cgroup_layout.h"
#include "appliance/supervisor/restart_policy.h"
#include "appliance/supervisor/shim_launcher.h"
#include "appliance/supervisor/workload_cgroups.h"
#include "appliance/supervisor/workload_state.h"

namespace annex::supervisor {

class Supervisor {
 public:
  struct Options {
    std::string data_dir;                       // required
    std::string shim_path;                      // default: annex-shim beside this executable
    std::string cgroup_root = "annex-workloads";
    std::optional<CgroupLayout> layout;         // default: detected from /proc/self/mountinfo
    os::Clock* clock = nullptr;                 // default: the system clock
    std::chrono::milliseconds max_sleep{100};   // the monitor re-reads the clock at least this often
  };

  // What Open() found on the machine.
  struct Recovery {
    size_t adopted = 0;            // still running, watched again
    size_t ended_while_down = 0;   // their runs ended meanwhile; policy applied
    size_t orphans_killed = 0;     // processes no record owned
  };

  // Opens (creating) the supervisor's state in `options.data_dir`, reconciles
  // it with the running processes and starts the monitor thread.
  // FailedPrecondition if the shim is missing, Unavailable if another
  // supervisor holds the data dir.
  static Result<std::unique_ptr<Supervisor>> Open(Options options);
  // Stops watching; every workload keeps running.
  ~Supervisor();

  // Starts workload `id` (1-128 of [A-Za-z0-9._-]) and returns once its
  // process runs and its record is durable. AlreadyExists while it is
  // running or due to restart; a workload that has exited is replaced.
  // Errors from the start itself (no such program, bad user, a limit the
  // machine cannot enforce) come back as Status and leave nothing running.
  Result<WorkloadState> Start(const std::string& id, const WorkloadSpec& spec, const RestartPolicy& policy);
  // SIGTERM, then SIGKILL after `grace` (default: the spec's stop_grace);
  // returns once it has ended. It is not restarted. NotFound if unknown.
  Result<WorkloadState> Stop(const std::string& id, std::optional<std::chrono::milliseconds> grace = std::nullopt);
  // The same without waiting: SIGTERM now, SIGKILL from the monitor after
  // `grace`. For owners that watch the end through Get (the task runtime).
  Status RequestStop(const std::string& id, std::optional<std::chrono::milliseconds> grace = std::nullopt);
  // Forgets an ended workload: record, cgroup, state directory and output.
  // FailedPrecondition while it runs (Stop it first).
  Status Remove(const std::string& id);

  std::optional<WorkloadState> Get(const std::string& id) const;
  std::vector<WorkloadState> List() const;
  // Waits until `done` holds for the workload's state (or it is removed, or
  // `timeout` passes) and returns the state it last had.
  std::optional<WorkloadState> WaitFor(const std::string& id, const std::function<bool(const WorkloadState&)>& done,
                                       std::chrono::milliseconds timeout) const;

  const Recovery& recovery() const { return recovery_; }
  const WorkloadCgroups& cgroups() const { return cgroups_; }

 private:
  struct Entry {
    WorkloadState state;
    RestartTracker tracker;
    int shim_pidfd = -1;  // watched by the monitor while the run lasts
    int pid_pidfd = -1;   // the workload itself, for signals (-1 once gone)
    os::MonoTime started{};
    std::optional<os::MonoTime> restart_at;
    std::optional<os::MonoTime> kill_at;
    explicit Entry(WorkloadState s) : state(std::move(s)), tracker(state.policy) {}
  };

  Supervisor(Options options, std::unique_ptr<store::LmdbEnv> env, store::Table table, CgroupLayout layout,
             int lock_fd);

  // All with mu_ held.
  Status BeginStopLocked(Entry& e, std::chrono::milliseconds grace);
  Status Persist(const WorkloadState& state);
  Status Unpersist(const std::string& id);
  Status LaunchRun(Entry& e, const ShimLauncher::Spawned& spawned = nullptr);
  void Watch(Entry& e);
  void ClosePidfds(Entry& e);
  void OnShimExit(Entry& e);
  void OnRunEnded(Entry& e, LastExit exit);
  void RestartDue(Entry& e);
  void EscalateStop(Entry& e);
  std::chrono::milliseconds UntilNextTimer() const;
  int64_t NowUnixMs() const;

  // Open(): records against the machine.
  Status Recover();
  void RecoverEntry(Entry& e);
  void SweepOrphans();

  void MonitorLoop();
  void WakeMonitor();

  Options options_;
  os::Clock& clock_;
  std::unique_ptr<store::LmdbEnv> env_;
  store::Table table_;
  WorkloadCgroups cgroups_;
  ShimLauncher launcher_;
  int lock_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  Recovery recovery_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  std::map<int, Entry*> by_pidfd_;  // shim pidfd → its workload

  std::atomic<bool> stopping_{false};
  std::thread monitor_;
};

}  // namespace annex::supervisor
