#pragma once
// WorkloadState: what the supervisor knows about one workload, as its owner
// reads it (Supervisor::Get/List) and as it is stored in LMDB.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/supervisor/exit_status.h"
#include "appliance/supervisor/restart_policy.h"
#include "appliance/supervisor/workload_spec.h"

namespace annex::supervisor {

enum class WorkloadPhase {
  kRunning,     // its process runs
  kStopping,    // Stop() asked it to end; SIGKILL follows after the grace
  kExited,      // ended and will not be started again (policy, or stopped)
  kRestarting,  // ended; starts again at the policy's backoff
  kCrashLoop,   // ended too often lately; starts again after the longest backoff
};
std::string_view WorkloadPhaseName(WorkloadPhase phase);  // "running", "crash-loop", …

// How a run ended.
struct LastExit {
  bool known = true;        // false: its shim was gone too (machine reboot, shim killed)
  ExitStatus status;
  bool oom_killed = false;  // the OOM killer acted in its cgroup during the run
  int64_t ended_unix_ms = 0;
  std::string error;        // set when the run could not even be started
};

struct WorkloadState {
  std::string id;
  WorkloadSpec spec;
  RestartPolicy policy;
  WorkloadPhase phase = WorkloadPhase::kRunning;
  bool stop_requested = false;  // Stop() was called: no restart
  uint64_t run = 0;             // runs started so far (1 for the first)
  uint64_t restarts = 0;        // runs started by the restart policy
  bool crash_loop = false;
  // The current (or last) run: the shim that is its parent, and the workload.
  pid_t shim_pid = 0;
  uint64_t shim_start_time = 0;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  int64_t started_unix_ms = 0;
  std::optional<LastExit> last_exit;
  // Where its files are: output appended across runs under stable names, so
  // a log forwarder can tail them.
  std::string state_dir;
  std::string stdout_path;
  std::string stderr_path;
};

// The LMDB value for a state (id is the key).
std::string EncodeWorkloadState(const WorkloadState& state);
Result<WorkloadState> DecodeWorkloadState(std::string_view id, std::string_view value);

}  // namespace annex::supervisor
