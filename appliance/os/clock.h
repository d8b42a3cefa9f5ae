#pragma once
// Clock: the only way code reads the time, so tests can move it (ManualClock)
// to check expiry, clock-skew and timeout paths. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace annex::os {

using SystemTime = std::chrono::system_clock::time_point;

// Unix milliseconds, as records store times.
inline int64_t ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime FromUnixMillis(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for signatures, Last-Modified and expiry.
  virtual SystemTime Now() const = 0;
  // Monotonic time, for latencies and timeouts.
  virtual MonoTime MonotonicNow() const = 0;
};

// The real clocks. Process-wide singleton; never destroyed.
Clock& SystemClock();

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start) : now_(start.time_since_epoch().count()) {}
  SystemTime Now() const override { return SystemTime(SystemTime::duration(now_.load())); }
  MonoTime MonotonicNow() const override { return MonoTime(std::chrono::nanoseconds(mono_.load())); }
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    now_ += std::chrono::duration_cast<SystemTime::duration>(d).count();
    mono_ += std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }
  void Set(SystemTime t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<SystemTime::rep> now_;
  std::atomic<int64_t> mono_{0};
};

}  // namespace annex::os
