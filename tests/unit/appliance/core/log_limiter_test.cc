// RepeatLimiter with a manual clock, and annex::log's use of it.

#include "appliance/core/log_limiter.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "appliance/core/log.h"

namespace annex::log {
namespace {

using namespace std::chrono_literals;

struct ManualClock {
  RepeatLimiter::TimePoint now{};
  RepeatLimiter::Now fn() {
    return [this] { return now; };
  }
};

TEST(RepeatLimiter, LetsABurstThroughPerWindowThenCountsTheRest) {
  ManualClock clock;
  RepeatLimiter limiter(3, 10s, clock.fn());
  uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit("accept failed", &suppressed));
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.Admit("accept failed", &suppressed));
  clock.now += 9s;
  EXPECT_FALSE(limiter.Admit("accept failed", &suppressed));
  clock.now += 1s;  // a new window: the first line reports what was held back
  ASSERT_TRUE(limiter.Admit("accept failed", &suppressed));
  EXPECT_EQ(suppressed, 1001u);
  ASSERT_TRUE(limiter.Admit("accept failed", &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(RepeatLimiter, KeysAreLimitedIndependently) {
  ManualClock clock;
  RepeatLimiter limiter(1, 1s, clock.fn());
  uint64_t suppressed = 0;
  EXPECT_TRUE(limiter.Admit("a", &suppressed));
  EXPECT_FALSE(limiter.Admit("a", &suppressed));
  EXPECT_TRUE(limiter.Admit("b", &suppressed));
  EXPECT_FALSE(limiter.Admit("b", &suppressed));
}

std::mutex g_lines_mu;
std::vector<std::string> g_lines;
void Capture(std::string_view line) {
  std::lock_guard<std::mutex> lock(g_lines_mu);
  g_lines.emplace_back(line);
}

TEST(Log, RepeatedWarningsAreSummarizedButInfoLinesAreNot) {
  ManualClock clock;
  SetRepeatLimit(2, 1min, clock.fn());
  SetSink(&Capture);
  for (int i = 0; i < 100; ++i) Warn("disk slow", {{"i", std::to_string(i)}});
  for (int i = 0; i < 5; ++i) Info("request");
  clock.now += 1min;
  Warn("disk slow", {{"i", "last"}});
  SetSink(nullptr);
  SetRepeatLimit(10, 1min);
  ASSERT_EQ(g_lines.size(), 8u);
  EXPECT_NE(g_lines[0].find("i=0"), std::string::npos);
  EXPECT_NE(g_lines[1].find("i=1"), std::string::npos);
  EXPECT_NE(g_lines[7].find("i=last suppressed=98\n"), std::string::npos) << g_lines[7];
}

}  // namespace
}  // namespace annex::log
