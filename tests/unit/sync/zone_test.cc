#include "sync/common/zone.h"

#include <gtest/gtest.h>

namespace annex::sync {
namespace {

using namespace std::chrono_literals;

TEST(Zone, StateFollowsSilence) {
  EXPECT_EQ(StateAfterSilence(0ms, true), ZoneState::kAvailable);
  EXPECT_EQ(StateAfterSilence(49'999ms, true), ZoneState::kAvailable);
  EXPECT_EQ(StateAfterSilence(50s, true), ZoneState::kImpaired);
  EXPECT_EQ(StateAfterSilence(14min, true), ZoneState::kImpaired);
  EXPECT_EQ(StateAfterSilence(15min, true), ZoneState::kUnavailable);
  EXPECT_EQ(StateAfterSilence(0ms, false), ZoneState::kUnavailable);
  EXPECT_EQ(ZoneStateName(ZoneState::kImpaired), "impaired");
}

TEST(Zone, NamesAndSites) {
  EXPECT_EQ(ZoneName("us-east-1", "lisbon-1"), "us-east-1-annex-lisbon-1");
  EXPECT_TRUE(IsValidSiteName("lisbon-1"));
  EXPECT_TRUE(IsValidSiteName("a"));
  for (const char* bad : {"", "-a", "a-", "a--b", "Lisbon", "a_b", "a.b", "a b",
                          "abcdefghijabcdefghijabcdefghijabc"}) {
    EXPECT_FALSE(IsValidSiteName(bad)) << bad;
  }
}

}  // namespace
}  // namespace annex::sync
