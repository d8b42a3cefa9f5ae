// A test-only LD_PRELOAD library that moves a process's wall clock forward:
// CLOCK_REALTIME (clock_gettime, gettimeofday, time) reads as the real time
// plus the seconds in the file $ANNEX_CLOCKSHIFT_FILE, re-read at most every
// 50 ms so a test can move time while processes run. Monotonic clocks are
// left alone. Tests use it to see time-bound credentials expire without
// waiting; the appliance never loads it.
//
// Only raw syscalls inside: whatever calls the clock first (a static
// initializer, the dynamic loader) cannot recurse into this code.

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace {

std::atomic<long> offset_seconds{0};
std::atomic<long> next_read_ns{0};

long RawClock(clockid_t id, timespec* ts) { return syscall(SYS_clock_gettime, id, ts); }

long ParseSeconds(const char* s, long n) {
  long value = 0, sign = 1;
  long i = 0;
  while (i < n && (s[i] == ' ' || s[i] == '+')) ++i;
  if (i < n && s[i] == '-') sign = -1, ++i;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; ++i) value = value * 10 + (s[i] - '0');
  return sign * value;
}

long Offset() {
  timespec now;
  RawClock(CLOCK_MONOTONIC, &now);
  long now_ns = now.tv_sec * 1000000000L + now.tv_nsec;
  if (now_ns < next_read_ns.load(std::memory_order_relaxed)) return offset_seconds.load(std::memory_order_relaxed);
  next_read_ns.store(now_ns + 50000000L, std::memory_order_relaxed);
  const char* path = getenv("ANNEX_CLOCKSHIFT_FILE");
  if (!path) return 0;
  long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return offset_seconds.load(std::memory_order_relaxed);
  char buf[32];
  long n = syscall(SYS_read, fd, buf, sizeof buf);
  syscall(SYS_close, fd);
  if (n > 0) offset_seconds.store(ParseSeconds(buf, n), std::memory_order_relaxed);
  return offset_seconds.load(std::memory_order_relaxed);
}

bool IsWallClock(clockid_t id) { return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE; }

}  // namespace

extern "C" {

int clock_gettime(clockid_t id, timespec* ts) {
  long rc = RawClock(id, ts);
  if (rc == 0 && IsWallClock(id)) ts->tv_sec += Offset();
  return static_cast<int>(rc);
}

int gettimeofday(struct timeval* tv, void*) {
  timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
  if (tv) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return 0;
}

time_t time(time_t* out) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}

}  // extern "C"
