#pragma once
// LowDiskAlarm: tells once when the free space of a disk drops below a
// fraction of its size, and again only after it has been above it in
// between, so a disk that stays full raises one warning, not one per check.
//
// Thread-safe.

#include <atomic>
#include <cstdint>

namespace annex::daemon {

class LowDiskAlarm {
 public:
  explicit LowDiskAlarm(double min_free_fraction) : min_free_fraction_(min_free_fraction) {}

  // True for the reading that finds the disk low after it was not (or at the
  // first reading). A disk of unknown size (0) is never low.
  bool Crossed(uint64_t disk_bytes, uint64_t free_bytes);

 private:
  const double min_free_fraction_;
  std::atomic<bool> low_{false};
};

}  // namespace annex::daemon
