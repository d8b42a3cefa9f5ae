#pragma once
// Daemon: wires annexd together — data dir lock, identities and root
// credentials, TLS identity, services, the edge and the HTTP listeners —
// runs the io threads, and drains in-flight requests on SIGTERM/SIGINT.

#include "appliance/core/status.h"
#include "appliance/daemon/config.h"

namespace annex::daemon {

// Runs until a termination signal; returns the reason it stopped.
Status RunDaemon(const Config& config);

}  // namespace annex::daemon
