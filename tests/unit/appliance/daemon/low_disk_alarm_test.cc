#include "appliance/daemon/low_disk_alarm.h"

#include <gtest/gtest.h>

namespace annex::daemon {
namespace {

constexpr uint64_t kDisk = 1000;

TEST(LowDiskAlarm, WarnsOncePerCrossing) {
  LowDiskAlarm alarm(0.10);
  EXPECT_FALSE(alarm.Crossed(kDisk, 500));
  EXPECT_FALSE(alarm.Crossed(kDisk, 100));  // exactly 10 % free is not low
  EXPECT_TRUE(alarm.Crossed(kDisk, 99));
  EXPECT_FALSE(alarm.Crossed(kDisk, 50));  // still low: said already
  EXPECT_FALSE(alarm.Crossed(kDisk, 99));
  EXPECT_FALSE(alarm.Crossed(kDisk, 300));  // recovered
  EXPECT_TRUE(alarm.Crossed(kDisk, 10));    // low again: a new crossing
}

TEST(LowDiskAlarm, ALowDiskAtTheFirstLookCounts) {
  LowDiskAlarm alarm(0.10);
  EXPECT_TRUE(alarm.Crossed(kDisk, 0));
  EXPECT_FALSE(alarm.Crossed(kDisk, 0));
}

TEST(LowDiskAlarm, AnUnknownDiskIsNeverLow) {
  LowDiskAlarm alarm(0.10);
  EXPECT_FALSE(alarm.Crossed(0, 0));
}

}  // namespace
}  // namespace annex::daemon
