#include "appliance/supervisor/restart_policy.h"

#include <algorithm>

namespace annex::supervisor {

RestartTracker::Decision RestartTracker::OnExit(const ExitStatus& status, os::MonoTime started, os::MonoTime now) {
  Decision d;
  bool failed = !(status.exited && status.code == 0);
  d.restart = policy_.mode == RestartMode::kAlways || (policy_.mode == RestartMode::kOnFailure && failed);
  if (!d.restart) {
    d.crash_loop = crash_loop_;
    return d;
  }
  // A run that lasted starts the backoff over; quick exits double it.
  consecutive_ = now - started >= policy_.healthy_after ? 1 : consecutive_ + 1;
  auto backoff = policy_.initial_backoff;
  for (uint32_t i = 1; i < consecutive_ && backoff < policy_.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, policy_.max_backoff);
  d.at = now + backoff;

  recent_.push_back(now);
  while (!recent_.empty() && now - recent_.front() > policy_.crash_loop_window) recent_.pop_front();
  crash_loop_ = recent_.size() >= policy_.crash_loop_restarts;
  if (crash_loop_) d.at = now + policy_.max_backoff;
  d.crash_loop = crash_loop_;
  ++restarts_;
  return d;
}

}  // namespace annex::supervisor
