#pragma once
// ShimLauncher: starts one run of a workload under annex-shim
// (shim/shim_protocol.h) and reads how a run ended from the exit file the
// shim leaves in the workload's state directory.
//
// The shim is started with posix_spawn (vfork-cheap, whatever annexd's
// size) in a session of its own, with nothing of annexd's but the report
// pipe; it joins the workload's cgroup before it forks the workload, so
// the workload is limited from its first instruction.
//
// Thread-safe: no state beyond the shim's path.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "appliance/core/result.h"
#include "appliance/supervisor/exit_status.h"
#include "appliance/supervisor/workload_cgroups.h"
#include "appliance/supervisor/workload_spec.h"

namespace annex::supervisor {

// One started run: the shim (our child until annexd restarts) and the
// workload it forked, each with its start time for later identity checks.
struct ShimRun {
  pid_t shim_pid = 0;
  uint64_t shim_start_time = 0;
  int shim_pidfd = -1;  // owned by the caller
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
};

// What the shim wrote when the run ended.
struct RunExit {
  uint64_t run = 0;
  ExitStatus status;
  bool oom_killed = false;
  pid_t pid = 0;
};

class ShimLauncher {
 public:
  explicit ShimLauncher(std::string shim_path) : shim_path_(std::move(shim_path)) {}

  // Called once the shim runs, while it joins the cgroup and starts the
  // workload: the supervisor commits the run's record meanwhile. An error
  // ends the start.
  using Spawned = std::function<Status(pid_t shim_pid, uint64_t shim_start_time)>;

  // Starts run number `run` with output appended to the given files.
  // NotFound / PermissionDenied / InvalidArgument when the workload could
  // not be started (nothing is left running then).
  Result<ShimRun> Launch(const WorkloadSpec& spec, const std::string& state_dir, uint64_t run,
                         const CgroupPaths& cgroups, const std::string& stdout_path, const std::string& stderr_path,
                         const Spawned& spawned = nullptr) const;

  const std::string& shim_path() const { return shim_path_; }

 private:
  std::string shim_path_;
};

// The exit file in `state_dir`, or nullopt when there is none (the run has
// not ended, or its shim was killed before it could write one).
Result<std::optional<RunExit>> ReadExitFile(const std::string& state_dir);
// Parses one exit file line ("run=3 exited=0 code=0 signal=9 oom=1 pid=42").
Result<RunExit> ParseExitLine(std::string_view line);

// The annex-shim beside the running executable (annexd and annex-shim are
// installed together).
std::string DefaultShimPath();

}  // namespace annex::supervisor
