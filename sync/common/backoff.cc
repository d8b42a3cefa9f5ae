#include "sync/common/backoff.h"

#include <algorithm>
#include <cmath>

namespace annex::sync {

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(policy), uniform01_(std::move(uniform01)) {}

std::chrono::milliseconds Backoff::Next() {
  double base = static_cast<double>(policy_.base.count());
  double cap = static_cast<double>(policy_.cap.count());
  // Capped before jitter, so delays at the cap still spread out (±jitter around it).
  double delay = std::min(cap, base * std::pow(policy_.factor, attempt_));
  ++attempt_;
  double scale = 1.0 - policy_.jitter + 2.0 * policy_.jitter * std::clamp(uniform01_(), 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(delay * scale)));
}

}  // namespace annex::sync
