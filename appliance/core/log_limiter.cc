#include "appliance/core/log_limiter.h"

#include <utility>

namespace annex::log {

RepeatLimiter::RepeatLimiter(size_t burst, std::chrono::nanoseconds window, Now now)
    : burst_(burst), window_(window), now_(now ? std::move(now) : Now([] { return std::chrono::steady_clock::now(); })) {}

bool RepeatLimiter::Admit(std::string_view key, uint64_t* suppressed) {
  TimePoint now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxKeys) entries_.clear();  // forget counts rather than grow without bound
    it = entries_.emplace(std::string(key), Entry{now, 0, 0}).first;
  }
  Entry& e = it->second;
  if (now - e.window_start >= window_) {
    e.window_start = now;
    e.written = 0;
  }
  if (e.written >= burst_) {
    ++e.suppressed;
    return false;
  }
  ++e.written;
  *suppressed = e.suppressed;
  e.suppressed = 0;
  return true;
}

}  // namespace annex::log
