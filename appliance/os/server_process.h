#pragma once
// Process-wide settings a long-running server needs before it serves, and
// the descriptor reserve its accept loop falls back on.
//
// Call IgnoreSigpipe and RaiseOpenFileLimit from main() of each serving
// binary (annexd, annex-control), before any thread starts.

#include <cstdint>

#include "appliance/core/result.h"

namespace annex::os {

// SIGPIPE's default action ends the process; a server learns of a vanished
// peer from EPIPE instead. Ignoring it process-wide covers every write path
// (sockets, pipes, stderr to a closed reader, libraries' own writes).
void IgnoreSigpipe();

// Raises the soft RLIMIT_NOFILE to the hard limit (the soft default, 1024,
// is a few hundred clients). Returns the soft limit now in force.
Result<uint64_t> RaiseOpenFileLimit();
// The soft RLIMIT_NOFILE (0 if unknown).
uint64_t OpenFileLimit();

// One descriptor held back for the moment the process runs out: with none
// left, accept(2) fails with EMFILE while the connection stays queued, and
// the listener stays readable, so an accept loop spins. Releasing the
// reserve lets the loop accept the connection and close it (the client gets
// an answer instead of a hang), after which the reserve is taken again.
//
// Thread safety: none; use from one thread (the accept loop's).
class DescriptorReserve {
 public:
  DescriptorReserve();  // takes the reserve (if a descriptor is free)
  ~DescriptorReserve();
  DescriptorReserve(const DescriptorReserve&) = delete;
  DescriptorReserve& operator=(const DescriptorReserve&) = delete;

  // Frees the reserve; true if there was one to free.
  bool Release();
  // Takes the reserve again (no-op while held or while none is free).
  void Restore();

 private:
  int fd_ = -1;
};

}  // namespace annex::os
