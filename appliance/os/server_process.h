#pragma once
// Process-wide settings a long-running server needs before it serves.
//
// Call from main() of each serving binary (annexd, annex-control), before
// any thread starts.

namespace annex::os {

// SIGPIPE's default action ends the process; a server learns of a vanished
// peer from EPIPE instead. Ignoring it process-wide covers every write path
// (sockets, pipes, stderr to a closed reader, libraries' own writes).
void IgnoreSigpipe();

}  // namespace annex::os
