// When a supervised workload is started again: by mode, with doubling
// backoff that a healthy run resets, and a crash-loop state.

#include "appliance/supervisor/restart_policy.h"

#include <gtest/gtest.h>

namespace annex::supervisor {
namespace {

using namespace std::chrono_literals;

const os::MonoTime kT0 = os::MonoTime(std::chrono::hours(1));
const ExitStatus kOk{true, 0, 0};
const ExitStatus kFailed{true, 1, 0};
const ExitStatus kKilled{false, 0, 9};

RestartPolicy Policy(RestartMode mode) {
  RestartPolicy p;
  p.mode = mode;
  p.initial_backoff = 1s;
  p.max_backoff = 30s;
  p.healthy_after = 10s;
  p.crash_loop_restarts = 5;
  p.crash_loop_window = 10min;
  return p;
}

TEST(RestartPolicy, ModesDecideWhetherToRestart) {
  for (auto [mode, status, restart] : {std::tuple{RestartMode::kNever, kFailed, false},
                                       std::tuple{RestartMode::kOnFailure, kOk, false},
                                       std::tuple{RestartMode::kOnFailure, kFailed, true},
                                       std::tuple{RestartMode::kOnFailure, kKilled, true},
                                       std::tuple{RestartMode::kAlways, kOk, true}}) {
    RestartTracker t(Policy(mode));
    EXPECT_EQ(t.OnExit(status, kT0, kT0 + 1s).restart, restart) << static_cast<int>(mode) << status.Describe();
  }
}

TEST(RestartPolicy, QuickFailuresDoubleTheBackoffAndAHealthyRunResetsIt) {
  RestartTracker t(Policy(RestartMode::kOnFailure));
  os::MonoTime now = kT0;
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 4; ++i) {
    auto d = t.OnExit(kFailed, now, now + 1s);  // each run lasts a second
    waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d.at - (now + 1s)));
    now = d.at;
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{1s, 2s, 4s, 8s}));
  auto after_healthy = t.OnExit(kFailed, now, now + 11min);
  EXPECT_EQ(after_healthy.at - (now + 11min), 1s) << "a run longer than healthy_after starts over";
  EXPECT_FALSE(after_healthy.crash_loop);
  EXPECT_EQ(t.restarts(), 5u);
}

TEST(RestartPolicy, ManyRestartsInTheWindowAreACrashLoop) {
  RestartTracker t(Policy(RestartMode::kAlways));
  os::MonoTime now = kT0;
  RestartTracker::Decision d;
  for (int i = 0; i < 4; ++i) {
    d = t.OnExit(kFailed, now, now + 1s);
    EXPECT_FALSE(d.crash_loop) << i;
    now = d.at;
  }
  d = t.OnExit(kFailed, now, now + 1s);
  EXPECT_TRUE(d.crash_loop);
  EXPECT_TRUE(t.crash_looping());
  EXPECT_EQ(d.at - (now + 1s), 30s) << "the longest backoff while looping";
  // Quiet for longer than the window: no longer a loop.
  now = d.at + 20min;
  d = t.OnExit(kFailed, now, now + 1min);
  EXPECT_FALSE(d.crash_loop);
}

}  // namespace
}  // namespace annex::supervisor
