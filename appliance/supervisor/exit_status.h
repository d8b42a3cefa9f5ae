#pragma once
// ExitStatus: how a workload's process ended — exited with a code, or
// killed by a signal — as the shim records it and owners report it.

#include <string>

namespace annex::supervisor {

struct ExitStatus {
  bool exited = false;
  int code = 0;
  int signal = 0;
  std::string Describe() const;  // "exit code 3", "killed by signal 9 (SIGKILL)"
};

}  // namespace annex::supervisor
