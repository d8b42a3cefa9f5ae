#include "appliance/supervisor/exit_status.h"

#include <string.h>

namespace annex::supervisor {

std::string ExitStatus::Describe() const {
  if (exited) return "exit code " + std::to_string(code);
  const char* name = ::sigabbrev_np(signal);
  return "killed by signal " + std::to_string(signal) + (name ? std::string(" (SIG") + name + ")" : "");
}

}  // namespace annex::supervisor
