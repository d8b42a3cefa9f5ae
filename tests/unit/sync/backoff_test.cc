#include "sync/common/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace annex::sync {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsByTheFactorUpToTheCap) {
  Backoff b(BackoffPolicy{}, [] { return 0.5; });  // 0.5: no jitter either way
  std::vector<int64_t> delays;
  for (int i = 0; i < 14; ++i) delays.push_back(b.Next().count());
  EXPECT_EQ(delays[0], 1000);
  EXPECT_EQ(delays[1], 1600);
  EXPECT_EQ(delays[2], 2560);
  EXPECT_EQ(delays[3], 4096);
  EXPECT_EQ(delays[10], 109951);  // 1.6^10 s
  EXPECT_EQ(delays[11], 120000);  // capped
  EXPECT_EQ(delays[13], 120000);
  EXPECT_EQ(b.attempts(), 14);
}

TEST(Backoff, JitterStaysWithinTwentyPercent) {
  Backoff low(BackoffPolicy{}, [] { return 0.0; });
  Backoff high(BackoffPolicy{}, [] { return 0.999999; });
  EXPECT_EQ(low.Next(), milliseconds(800));
  EXPECT_EQ(high.Next(), milliseconds(1200));
  for (int i = 0; i < 20; ++i) {
    low.Next();
    high.Next();
  }
  EXPECT_EQ(low.Next(), milliseconds(96000));    // the cap, jittered down
  EXPECT_EQ(high.Next(), milliseconds(144000));  // and up
}

TEST(Backoff, ResetStartsOverAfterASuccessfulConnection) {
  Backoff b(BackoffPolicy{}, [] { return 0.5; });
  b.Next();
  b.Next();
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(1000));
}

// What the jitter is for: a thousand appliances that lost the control plane
// at the same moment do not come back in the same second.
TEST(Backoff, AFleetSpreadsItsReconnects) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::map<int64_t, int> per_second;
  for (int agent = 0; agent < 1000; ++agent) {
    Backoff b(BackoffPolicy{}, [&] { return u(rng); });
    int64_t at = 0;
    for (int attempt = 0; attempt < 8; ++attempt) at += b.Next().count();
    ++per_second[at / 1000];
  }
  int busiest = 0;
  for (const auto& [second, n] : per_second) busiest = std::max(busiest, n);
  // Eight attempts in, the fleet is spread over more than 15 seconds.
  EXPECT_GT(per_second.size(), 15u);
  EXPECT_LT(busiest, 120);
}

}  // namespace
}  // namespace annex::sync
