// LogStore eviction: retention per group, the size bound (oldest first), and
// deleted groups and streams, in bounded batches.

#include <gtest/gtest.h>

#include "appliance/logs/log_store.h"
#include "appliance/os/clock.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::logs {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr int64_t kNowMs = 1700000000000;

class LogStoreEvictionTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogStore> Open(uint64_t max_bytes) {
    LogStore::Options options;
    options.dir = dir_.path() + "/logs";
    options.clock = &clock_;
    options.maintenance_interval = std::chrono::milliseconds(0);
    options.max_bytes = max_bytes;
    options.batch_events = 2;  // several batches per round
    auto opened = LogStore::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  std::vector<std::string> Messages(LogStore& store, const std::string& group, const std::string& stream) {
    auto events = store.ReadStream("1", group, stream, {});
    EXPECT_TRUE(events.ok());
    std::vector<std::string> out;
    if (events.ok()) {
      for (const auto& e : *events) out.push_back(e.message);
    }
    return out;
  }

  // Runs maintenance until it reports nothing left.
  MaintenanceReport Drain(LogStore& store) {
    MaintenanceReport total;
    for (int i = 0; i < 100; ++i) {
      auto r = store.Maintain(1);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) break;
      total.events_expired += r->events_expired;
      total.events_evicted += r->events_evicted;
      total.events_dropped += r->events_dropped;
      if (r->done) break;
    }
    return total;
  }

  testing::TempDir dir_;
  os::ManualClock clock_{os::SystemTime(std::chrono::milliseconds(kNowMs))};
};

TEST_F(LogStoreEvictionTest, RetentionDeletesOnlyEventsOlderThanTheGroupKeepsThem) {
  auto store = Open(uint64_t{1} << 30);
  std::vector<LogEvent> events;
  for (int day = 10; day >= 0; --day) events.push_back({kNowMs - day * kDayMs, "day" + std::to_string(day)});
  ASSERT_TRUE(store->Append("1", "kept", "s", events, true).ok());
  ASSERT_TRUE(store->Append("1", "short", "s", events, true).ok());
  ASSERT_TRUE(store->SetRetention("1", "short", 3).ok());

  MaintenanceReport r = Drain(*store);
  EXPECT_EQ(r.events_expired, 7u);  // days 10..4; one exactly 3 days old is not older than that
  EXPECT_EQ(Messages(*store, "short", "s"), (std::vector<std::string>{"day3", "day2", "day1", "day0"}));
  EXPECT_EQ(Messages(*store, "kept", "s").size(), 11u);
  auto streams = store->ListStreams("1", "short");
  ASSERT_TRUE(streams.ok());
  EXPECT_EQ((*streams)[0].first_event_ms, kNowMs - 3 * kDayMs);
  EXPECT_EQ((*streams)[0].stored_bytes, 16u);
  auto group = store->GetGroup("1", "short");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->stored_bytes, 16u);
}

TEST_F(LogStoreEvictionTest, RetentionCutsChunksThatStraddleTheCutoff) {
  auto store = Open(uint64_t{1} << 30);
  // One append spanning the cutoff, and a later one whose range lies inside the first's.
  ASSERT_TRUE(store->Append("1", "g", "s", {{kNowMs - 5 * kDayMs, "old1"}, {kNowMs - kDayMs, "new1"}}, true).ok());
  ASSERT_TRUE(store->Append("1", "g", "s", {{kNowMs - 4 * kDayMs, "old2"}, {kNowMs - 2 * kDayMs, "new2"}}, true).ok());
  ASSERT_TRUE(store->SetRetention("1", "g", 3).ok());
  MaintenanceReport r = Drain(*store);
  EXPECT_EQ(r.events_expired, 2u);
  EXPECT_EQ(Messages(*store, "g", "s"), (std::vector<std::string>{"new2", "new1"}));
  auto streams = store->ListStreams("1", "g");
  ASSERT_TRUE(streams.ok());
  EXPECT_EQ((*streams)[0].first_event_ms, kNowMs - 2 * kDayMs);
  EXPECT_EQ((*streams)[0].stored_bytes, 8u);
}

TEST_F(LogStoreEvictionTest, SizeBoundEvictsTheOldestEventsAcrossStreams) {
  auto store = Open(40);  // bytes of messages
  // Two streams, interleaved in time; each message is 10 bytes.
  ASSERT_TRUE(store->Append("1", "g", "a", {{1, "a-00000001"}, {3, "a-00000003"}, {5, "a-00000005"}}, true).ok());
  ASSERT_TRUE(store->Append("1", "g", "b", {{2, "b-00000002"}, {4, "b-00000004"}, {6, "b-00000006"}}, true).ok());
  EXPECT_EQ(store->stored_bytes(), 60u);
  MaintenanceReport r = Drain(*store);
  EXPECT_EQ(r.events_evicted, 2u);
  EXPECT_EQ(store->stored_bytes(), 40u);
  EXPECT_EQ(Messages(*store, "g", "a"), (std::vector<std::string>{"a-00000003", "a-00000005"}));
  EXPECT_EQ(Messages(*store, "g", "b"), (std::vector<std::string>{"b-00000004", "b-00000006"}));
}

TEST_F(LogStoreEvictionTest, DeletedGroupsAndStreamsFreeTheirBytesInTheBackground) {
  auto store = Open(uint64_t{1} << 30);
  std::vector<LogEvent> events;
  for (int i = 0; i < 7; ++i) events.push_back({i, "event"});
  ASSERT_TRUE(store->Append("1", "g", "s1", events, true).ok());
  ASSERT_TRUE(store->Append("1", "g", "s2", events, true).ok());
  ASSERT_TRUE(store->Append("1", "h", "s", events, true).ok());
  ASSERT_TRUE(store->DeleteStream("1", "g", "s1").ok());
  EXPECT_TRUE(store->DeleteStream("1", "g", "s1").IsNotFound());
  auto g = store->GetGroup("1", "g");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->stored_bytes, 35u);  // at once, for DescribeLogGroups
  ASSERT_TRUE(store->DeleteGroup("1", "h").ok());
  EXPECT_TRUE(store->GetGroup("1", "h").status().IsNotFound());

  MaintenanceReport r = Drain(*store);
  EXPECT_EQ(r.events_dropped, 14u);
  EXPECT_EQ(store->stored_bytes(), 35u);
  // A group created again with the old name starts empty.
  ASSERT_TRUE(store->Append("1", "h", "s", {{100, "new"}}, true).ok());
  EXPECT_EQ(Messages(*store, "h", "s"), (std::vector<std::string>{"new"}));
}

}  // namespace
}  // namespace annex::logs
