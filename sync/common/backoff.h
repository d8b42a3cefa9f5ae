#pragma once
// Reconnect delays: exponential (base × factor^attempt, capped) with ± jitter,
// so a fleet of appliances that lost a restarted control plane spreads its
// reconnects out instead of arriving at once.

#include <chrono>
#include <functional>

namespace annex::sync {

struct BackoffPolicy {
  std::chrono::milliseconds base{1000};
  double factor = 1.6;
  std::chrono::milliseconds cap{120'000};
  double jitter = 0.2;  // each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
};

class Backoff {
 public:
  // `uniform01` returns values in [0, 1); tests pass a fixed sequence.
  Backoff(BackoffPolicy policy, std::function<double()> uniform01);

  // The delay before the next attempt; each call counts one failed attempt.
  std::chrono::milliseconds Next();
  // After a connection that worked: the next delay starts from `base` again.
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform01_;
  int attempt_ = 0;
};

}  // namespace annex::sync
