#pragma once
// RestartPolicy and RestartTracker: whether and when the supervisor starts a
// workload again after it ends, as container runtimes do it.
//
//   never       it stays down
//   on-failure  again unless it exited with code 0
//   always      again, whatever the outcome
//
// Restarts back off: the first waits `initial_backoff`, each next one twice
// as long, up to `max_backoff`; a run that lasted `healthy_after` counts as
// healthy and starts the doubling over. A workload restarted
// `crash_loop_restarts` times within `crash_loop_window` is in a crash loop —
// a state its owner reads and reports (ECS stops the task, RDS marks the
// instance failed); the tracker keeps answering with the longest backoff.
//
// Pure logic on the monotonic clock's time points: no threads, no timers.

#include <chrono>
#include <cstdint>
#include <deque>

#include "appliance/os/clock.h"
#include "appliance/supervisor/exit_status.h"

namespace annex::supervisor {

enum class RestartMode { kNever, kOnFailure, kAlways };

struct RestartPolicy {
  RestartMode mode = RestartMode::kOnFailure;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{300'000};
  std::chrono::milliseconds healthy_after{10'000};
  uint32_t crash_loop_restarts = 5;
  std::chrono::milliseconds crash_loop_window{600'000};
};

class RestartTracker {
 public:
  explicit RestartTracker(RestartPolicy policy) : policy_(policy) {}

  struct Decision {
    bool restart = false;
    os::MonoTime at{};        // when to start it again
    bool crash_loop = false;  // the state after this exit
  };

  // The workload, started at `started`, ended at `now` with `status`.
  Decision OnExit(const ExitStatus& status, os::MonoTime started, os::MonoTime now);

  bool crash_looping() const { return crash_loop_; }
  uint64_t restarts() const { return restarts_; }

 private:
  RestartPolicy policy_;
  uint32_t consecutive_ = 0;               // quick failures in a row
  std::deque<os::MonoTime> recent_;        // restart times within the window
  uint64_t restarts_ = 0;
  bool crash_loop_ = false;
};

}  // namespace annex::supervisor
