#pragma once
// ChildProcess: one workload process as the supervisor starts it — in a
// session of its own, its output appended to files rather than to a pipe
// annexd holds, so it outlives annexd (a kill -9 or an upgrade) and keeps
// writing meanwhile. Tracked by a pidfd, so a recycled PID can never be
// mistaken for it.
//
// Not thread-safe: one owner drives each child.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/core/result.h"

namespace annex::supervisor {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // "NAME=value", exactly what the child gets
  std::string working_dir = "/";
  std::string stdout_path;  // appended to, created 0640; empty: /dev/null
  std::string stderr_path;  // likewise; may equal stdout_path
};

// How a child ended: exited with `code`, or killed by `signal`.
struct ExitStatus {
  bool exited = false;
  int code = 0;
  int signal = 0;
  std::string Describe() const;  // "exit code 3", "killed by signal 9 (SIGKILL)"
};

class ChildProcess {
 public:
  // Starts the child. NotFound/PermissionDenied/InvalidArgument when it
  // cannot be executed (reported from the child before exec, so nothing is
  // left running).
  static Result<std::unique_ptr<ChildProcess>> Spawn(const ChildSpec& spec);
  ~ChildProcess();  // closes the pidfd; the child keeps running

  pid_t pid() const { return pid_; }

  // How it ended, or nullopt while it runs. Waits up to `timeout` (0: just looks).
  Result<std::optional<ExitStatus>> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL if it is still running after `grace`.
  Result<ExitStatus> Stop(std::chrono::milliseconds grace);

 private:
  ChildProcess(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  pid_t pid_;
  int pidfd_;
  std::optional<ExitStatus> ended_;
};

}  // namespace annex::supervisor
