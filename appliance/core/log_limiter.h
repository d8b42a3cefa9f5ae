#pragma once
// RepeatLimiter: keeps a line that repeats (the same message over and over,
// e.g. "accept failed" while descriptors are exhausted) from flooding the
// log. Each key gets `burst` lines per `window`; lines past that are
// counted, not written, and the next line written for the key reports the
// count. annex::log applies one to every warning and error, keyed by the
// message text (fields such as the request id vary, the message does not).
//
// Thread safety: Admit may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace annex::log {

class RepeatLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Now = std::function<TimePoint()>;

  // `now` defaults to std::chrono::steady_clock::now.
  RepeatLimiter(size_t burst, std::chrono::nanoseconds window, Now now = {});

  // Whether a line for `key` may be written now. When it may, *suppressed is
  // the number of lines for `key` held back since the last one written.
  bool Admit(std::string_view key, uint64_t* suppressed);

 private:
  struct Entry {
    TimePoint window_start;
    size_t written = 0;
    uint64_t suppressed = 0;
  };
  static constexpr size_t kMaxKeys = 4096;  // messages are templates; a bound against the unexpected

  const size_t burst_;
  const std::chrono::nanoseconds window_;
  const Now now_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace annex::log
