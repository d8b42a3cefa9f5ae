#include "appliance/core/wake_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace annex {
namespace {

using namespace std::chrono_literals;

// A step that asks for an hour's sleep runs again only when woken.
TEST(WakeLoop, WakeCutsTheSleepShortAndStopJoins) {
  std::atomic<int> runs{0};
  WakeLoop loop;
  loop.Start([&] {
    ++runs;
    return std::chrono::milliseconds(std::chrono::hours(1));
  });
  for (int i = 0; i < 200 && runs.load() < 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(runs.load(), 1);
  loop.Wake();
  for (int i = 0; i < 200 && runs.load() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(runs.load(), 2);
  loop.Stop();  // returns although the step asked to sleep for an hour
  int after = runs.load();
  loop.Wake();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(runs.load(), after) << "nothing runs after Stop";
}

}  // namespace
}  // namespace annex
