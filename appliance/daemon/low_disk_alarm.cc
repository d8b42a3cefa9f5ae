#include "appliance/daemon/low_disk_alarm.h"

namespace annex::daemon {

bool LowDiskAlarm::Crossed(uint64_t disk_bytes, uint64_t free_bytes) {
  bool low = disk_bytes != 0 && static_cast<double>(free_bytes) < min_free_fraction_ * static_cast<double>(disk_bytes);
  if (!low) {
    low_ = false;
    return false;
  }
  return !low_.exchange(true);
}

}  // namespace annex::daemon
