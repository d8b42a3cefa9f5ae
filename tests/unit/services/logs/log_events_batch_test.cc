// PutLogEvents' batch rules: what fails the whole batch, and which events
// are stored or reported as too old, expired or too new.

#include "services/logs/log_events_batch.h"

#include <gtest/gtest.h>

namespace annex::logs {
namespace {

constexpr int64_t kNow = 1700000000000;
constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

std::vector<LogEvent> At(std::initializer_list<int64_t> times) {
  std::vector<LogEvent> out;
  for (int64_t t : times) out.push_back({t, "m"});
  return out;
}

TEST(LogEventsBatchTest, WholeBatchRules) {
  struct Case {
    const char* name;
    std::vector<LogEvent> events;
    bool ok;
  };
  std::vector<LogEvent> too_many(kMaxBatchEvents + 1, LogEvent{kNow, "m"});
  std::vector<LogEvent> max_count(kMaxBatchEvents, LogEvent{kNow, "m"});
  // Two events whose messages fill the limit exactly once 26 bytes each are counted.
  size_t half = kMaxBatchBytes / 2 - kPerEventOverhead;
  std::vector<LogEvent> exactly_full = {{kNow, std::string(half, 'x')}, {kNow, std::string(half, 'x')}};
  std::vector<LogEvent> one_over = {{kNow, std::string(half + 1, 'x')}, {kNow, std::string(half, 'x')}};
  const Case cases[] = {
      {"empty", {}, false},
      {"one event", At({kNow}), true},
      {"10,000 events", max_count, true},
      {"10,001 events", too_many, false},
      {"exactly 1 MiB with overhead", exactly_full, true},
      {"one byte over", one_over, false},
      {"empty message", {{kNow, ""}}, false},
      {"out of order", At({kNow, kNow - 1}), false},
      {"equal timestamps", At({kNow, kNow, kNow}), true},
      {"spans exactly 24 h", At({kNow - kDay, kNow}), true},
      {"spans over 24 h", At({kNow - kDay - 1, kNow}), false},
  };
  for (const Case& c : cases) {
    Status s = CheckLogEventsBatch(c.events);
    EXPECT_EQ(s.ok(), c.ok) << c.name << ": " << s.ToString();
    if (!s.ok()) {
      EXPECT_EQ(s.subcode(), "InvalidParameterException") << c.name;
    }
  }
}

TEST(LogEventsBatchTest, TooOldAndTooNewAreReportedNotStored) {
  auto v = SortOutLogEvents(At({kNow - 14 * kDay - 2, kNow - 14 * kDay - 1, kNow - 14 * kDay, kNow}), kNow, std::nullopt);
  EXPECT_EQ(v.too_old_end, 2u);
  EXPECT_FALSE(v.expired_end);
  EXPECT_FALSE(v.too_new_start);
  EXPECT_EQ(v.accept_begin, 2u);
  EXPECT_EQ(v.accept_end, 4u);

  v = SortOutLogEvents(At({kNow, kNow + 2 * kHour, kNow + 2 * kHour + 1}), kNow, std::nullopt);
  EXPECT_EQ(v.too_new_start, 2u);
  EXPECT_EQ(v.accept_begin, 0u);
  EXPECT_EQ(v.accept_end, 2u);
}

TEST(LogEventsBatchTest, RetentionExpiresEventsBeforeTheFourteenDayLimit) {
  auto v = SortOutLogEvents(At({kNow - 3 * kDay - 1, kNow - 3 * kDay, kNow}), kNow, 3);
  EXPECT_EQ(v.expired_end, 1u);
  EXPECT_FALSE(v.too_old_end);
  EXPECT_EQ(v.accept_begin, 1u);
  // Everything rejected: an empty accepted range, not a negative one.
  v = SortOutLogEvents(At({kNow + 3 * kHour}), kNow, 3);
  EXPECT_EQ(v.too_new_start, 0u);
  EXPECT_EQ(v.accept_begin, v.accept_end);
}

}  // namespace
}  // namespace annex::logs
