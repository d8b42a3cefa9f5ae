#include "appliance/os/server_process.h"

#include <signal.h>

namespace annex::os {

void IgnoreSigpipe() {
  struct sigaction sa{};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, nullptr);
}

}  // namespace annex::os
