// LogStore: groups, streams, appends and reads as the Logs API and the
// supervisor's output forwarder see them — every test twice: with appends
// held in the journal until the store closes, and with each committed to
// LMDB as soon as it is journaled.

#include "appliance/logs/log_store.h"

#include <gtest/gtest.h>

#include "appliance/os/clock.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::logs {
namespace {

constexpr int64_t kStartMs = 1700000000000;

enum class Commit { kHeldInJournal, kEager };

class LogStoreTest : public ::testing::TestWithParam<Commit> {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    LogStore::Options options;
    options.dir = dir_.path() + "/logs";
    options.clock = &clock_;
    options.maintenance_interval = std::chrono::milliseconds(0);
    options.max_bytes = max_bytes_;
    options.batch_events = 3;
    if (GetParam() == Commit::kHeldInJournal) {
      options.apply_interval = std::chrono::hours(1);
      options.apply_bytes = uint64_t{1} << 40;
    } else {
      options.apply_interval = std::chrono::milliseconds(0);
      options.apply_bytes = 1;
    }
    auto opened = LogStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  std::vector<LogEvent> Events(std::initializer_list<std::pair<int64_t, const char*>> list) {
    std::vector<LogEvent> out;
    for (const auto& [t, m] : list) out.push_back({t, m});
    return out;
  }

  std::vector<std::string> Messages(const std::vector<StoredEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.message);
    return out;
  }

  testing::TempDir dir_;
  os::ManualClock clock_{os::SystemTime(std::chrono::milliseconds(kStartMs))};
  uint64_t max_bytes_ = uint64_t{1} << 30;
  std::unique_ptr<LogStore> store_;
};

TEST_P(LogStoreTest, GroupsAreCreatedOnceAndListedByPrefixPerAccount) {
  ASSERT_TRUE(store_->CreateGroup("111111111111", "/app/web").ok());
  ASSERT_TRUE(store_->CreateGroup("111111111111", "/app/db").ok());
  ASSERT_TRUE(store_->CreateGroup("111111111111", "/other").ok());
  ASSERT_TRUE(store_->CreateGroup("222222222222", "/app/web").ok());
  EXPECT_EQ(store_->CreateGroup("111111111111", "/app/web").code(), StatusCode::kAlreadyExists);

  auto page = store_->ListGroups("111111111111", {.prefix = "/app/"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->groups.size(), 2u);
  EXPECT_EQ(page->groups[0].name, "/app/db");
  EXPECT_EQ(page->groups[1].name, "/app/web");
  EXPECT_EQ(page->groups[0].creation_ms, kStartMs);

  auto first = store_->ListGroups("111111111111", {.limit = 2});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->more);
  auto rest = store_->ListGroups("111111111111", {.after = first->groups.back().name, .limit = 2});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->groups.size(), 1u);
  EXPECT_EQ(rest->groups[0].name, "/other");
  EXPECT_FALSE(rest->more);

  auto pattern = store_->ListGroups("111111111111", {.contains_ci = "WEB"});
  ASSERT_TRUE(pattern.ok());
  ASSERT_EQ(pattern->groups.size(), 1u);

  auto other = store_->ListGroups("222222222222", {});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->groups.size(), 1u);
  EXPECT_EQ(store_->GetGroup("333333333333", "/app/web").status().code(), StatusCode::kNotFound);
}

TEST_P(LogStoreTest, AppendNeedsTheStreamUnlessAskedToCreateIt) {
  EXPECT_TRUE(store_->Append("111111111111", "g", "s", Events({{kStartMs, "x"}})).IsNotFound());
  ASSERT_TRUE(store_->Append("111111111111", "g", "s", Events({{kStartMs, "x"}}), /*create_missing=*/true).ok());
  auto streams = store_->ListStreams("111111111111", "g");
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].name, "s");
  EXPECT_EQ((*streams)[0].stored_bytes, 1u);
  EXPECT_EQ((*streams)[0].last_event_ms, kStartMs);
  EXPECT_EQ((*streams)[0].last_ingestion_ms, kStartMs);
}

TEST_P(LogStoreTest, ReadsAStreamInTimeOrderForwardAndBackward) {
  ASSERT_TRUE(store_->CreateGroup("1", "g").ok());
  ASSERT_TRUE(store_->CreateStream("1", "g", "s").ok());
  EXPECT_EQ(store_->CreateStream("1", "g", "s").code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{30, "c"}, {10, "a"}, {20, "b"}})).ok());
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{20, "b2"}, {40, "d"}})).ok());

  auto all = store_->ReadStream("1", "g", "s", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Messages(*all), (std::vector<std::string>{"a", "b", "b2", "c", "d"}));

  auto window = store_->ReadStream("1", "g", "s", {.start_ms = 20, .end_ms = 40});
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(Messages(*window), (std::vector<std::string>{"b", "b2", "c"}));

  auto newest = store_->ReadStream("1", "g", "s", {.forward = false, .limit = 2});
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(Messages(*newest), (std::vector<std::string>{"c", "d"}));

  auto older = store_->ReadStream("1", "g", "s", {.forward = false, .before = newest->front().position, .limit = 2});
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(Messages(*older), (std::vector<std::string>{"b", "b2"}));

  auto next = store_->ReadStream("1", "g", "s", {.after = (*all)[1].position, .limit = 2});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Messages(*next), (std::vector<std::string>{"b2", "c"}));

  auto past_end = store_->ReadStream("1", "g", "s", {.after = all->back().position});
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->empty());
}

TEST_P(LogStoreTest, GroupReadMergesStreamsAndResumes) {
  ASSERT_TRUE(store_->Append("1", "g", "a", Events({{1, "a1"}, {3, "a3 error"}, {5, "a5"}}), true).ok());
  ASSERT_TRUE(store_->Append("1", "g", "b", Events({{2, "b2 error"}, {4, "b4"}}), true).ok());
  ASSERT_TRUE(store_->Append("1", "g", "other", Events({{6, "o6 error"}}), true).ok());

  GroupRead read;
  auto all = store_->ReadGroup("1", "g", read);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Messages(all->events), (std::vector<std::string>{"a1", "b2 error", "a3 error", "b4", "a5", "o6 error"}));
  EXPECT_EQ(all->events[1].stream, "b");
  EXPECT_FALSE(all->resume.has_value());
  EXPECT_EQ(all->searched_streams.size(), 3u);

  read.match = [](std::string_view m) { return m.find("error") != std::string_view::npos; };
  read.stream_names = {"a", "b"};
  read.limit = 1;
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = store_->ReadGroup("1", "g", read);
    ASSERT_TRUE(page.ok());
    for (const auto& e : page->events) seen.push_back(e.message);
    if (!page->resume) break;
    read.after = page->resume;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"b2 error", "a3 error"}));

  GroupRead since;
  since.start_ms = 5;
  since.stream_prefix = "o";
  auto tail = store_->ReadGroup("1", "g", since);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(Messages(tail->events), (std::vector<std::string>{"o6 error"}));
}

TEST_P(LogStoreTest, BatchesThatOverlapInTimeReadInTimeOrder) {
  // Three appends whose time ranges interleave, as a client retrying late batches makes them.
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{10, "a10"}, {100, "a100"}}), true).ok());
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{50, "b50"}, {20, "b20"}}), true).ok());
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{60, "c60"}, {150, "c150"}}), true).ok());
  auto all = store_->ReadStream("1", "g", "s", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Messages(*all), (std::vector<std::string>{"a10", "b20", "b50", "c60", "a100", "c150"}));
  auto from55 = store_->ReadStream("1", "g", "s", {.start_ms = 55, .end_ms = 120});
  ASSERT_TRUE(from55.ok());
  EXPECT_EQ(Messages(*from55), (std::vector<std::string>{"c60", "a100"}));
  auto newest3 = store_->ReadStream("1", "g", "s", {.forward = false, .limit = 3});
  ASSERT_TRUE(newest3.ok());
  EXPECT_EQ(Messages(*newest3), (std::vector<std::string>{"c60", "a100", "c150"}));
  auto before = store_->ReadStream("1", "g", "s", {.forward = false, .before = newest3->front().position, .limit = 2});
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(Messages(*before), (std::vector<std::string>{"b20", "b50"}));
  auto merged = store_->ReadGroup("1", "g", {.start_ms = 50});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(Messages(merged->events), (std::vector<std::string>{"b50", "c60", "a100", "c150"}));
}

TEST_P(LogStoreTest, CommittedAndJournaledAppendsReadAsOne) {
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{10, "a10"}, {100, "a100"}}), true).ok());
  ASSERT_TRUE(store_->Maintain().ok());  // commits what is journaled
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{50, "b50"}, {120, "b120"}}), true).ok());
  ASSERT_TRUE(store_->Append("1", "g", "t", Events({{60, "t60"}}), true).ok());

  auto all = store_->ReadStream("1", "g", "s", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Messages(*all), (std::vector<std::string>{"a10", "b50", "a100", "b120"}));
  auto newest = store_->ReadStream("1", "g", "s", {.forward = false, .limit = 3});
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(Messages(*newest), (std::vector<std::string>{"b50", "a100", "b120"}));
  auto merged = store_->ReadGroup("1", "g", {.start_ms = 55});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(Messages(merged->events), (std::vector<std::string>{"t60", "a100", "b120"}));

  auto streams = store_->ListStreams("1", "g");
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->size(), 2u);
  EXPECT_EQ((*streams)[0].stored_bytes, 14u);
  EXPECT_EQ((*streams)[0].first_event_ms, 10);
  EXPECT_EQ((*streams)[0].last_event_ms, 120);
  auto group = store_->GetGroup("1", "g");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->stored_bytes, 17u);
  EXPECT_EQ(store_->stored_bytes(), 17u);

  // Positions stay valid across the commit: a page read before it resumes after it.
  auto first_two = store_->ReadStream("1", "g", "s", {.limit = 2});
  ASSERT_TRUE(first_two.ok());
  ASSERT_TRUE(store_->Maintain().ok());
  auto rest = store_->ReadStream("1", "g", "s", {.after = first_two->back().position});
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Messages(*rest), (std::vector<std::string>{"a100", "b120"}));
  EXPECT_EQ(store_->stored_bytes(), 17u);
}

TEST_P(LogStoreTest, EventsSurviveReopening) {
  ASSERT_TRUE(store_->Append("1", "g", "s", Events({{1, "one"}, {2, "two"}}), true).ok());
  ASSERT_TRUE(store_->SetRetention("1", "g", 7).ok());
  ASSERT_TRUE(store_->TagGroup("1", "g", {{"team", "core"}}).ok());
  Reopen();
  auto events = store_->ReadStream("1", "g", "s", {});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(Messages(*events), (std::vector<std::string>{"one", "two"}));
  auto group = store_->GetGroup("1", "g");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->retention_days, 7);
  EXPECT_EQ(group->tags.at("team"), "core");
  EXPECT_EQ(group->stored_bytes, 6u);
  EXPECT_EQ(store_->stored_bytes(), 6u);
}

TEST_P(LogStoreTest, LongNamesAreKeptWhole) {
  std::string long_a(500, 'a'), long_b = std::string(450, 'a') + "b";
  ASSERT_TRUE(store_->Append("1", long_a, long_a, Events({{1, "x"}}), true).ok());
  ASSERT_TRUE(store_->Append("1", long_a, long_b, Events({{1, "y"}}), true).ok());
  auto streams = store_->ListStreams("1", long_a);
  ASSERT_TRUE(streams.ok());
  ASSERT_EQ(streams->size(), 2u);
  EXPECT_EQ((*streams)[0].name, long_a);
  EXPECT_EQ((*streams)[1].name, long_b);
  EXPECT_TRUE(store_->ReadStream("1", long_a, std::string(500, 'a') + "c", {}).status().IsNotFound());
}

TEST_P(LogStoreTest, UntagRemovesOnlyTheNamedKeys) {
  ASSERT_TRUE(store_->CreateGroup("1", "g", {{"a", "1"}, {"b", "2"}}).ok());
  ASSERT_TRUE(store_->UntagGroup("1", "g", {"a", "missing"}).ok());
  auto group = store_->GetGroup("1", "g");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->tags, (Tags{{"b", "2"}}));
}

INSTANTIATE_TEST_SUITE_P(Commit, LogStoreTest, ::testing::Values(Commit::kHeldInJournal, Commit::kEager),
                         [](const ::testing::TestParamInfo<Commit>& info) {
                           return info.param == Commit::kHeldInJournal ? "HeldInJournal" : "Eager";
                         });

}  // namespace
}  // namespace annex::logs
