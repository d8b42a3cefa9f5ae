// LogJournal: records come back intact and in order, a damaged tail is cut
// off (never a damaged record returned), and rotation starts over.

#include "appliance/logs/log_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/unit/testing/temp_dir.h"

namespace annex::logs {
namespace {

class LogJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogJournal> Open(uint64_t fresh_generation = 7) {
    auto j = LogJournal::Open(path_, fresh_generation);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(*j) : nullptr;
  }

  std::vector<std::string> ReplayAll(LogJournal& j, uint64_t from = 0) {
    std::vector<std::string> out;
    Status s = j.Replay(from, [&](std::string_view payload, uint64_t) {
      out.emplace_back(payload);
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // Overwrites bytes at `offset` as a torn or rotten write would leave them.
  void Scribble(uint64_t offset, std::string_view bytes) {
    int fd = ::open(path_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }

  testing::TempDir dir_;
  std::string path_ = dir_.path() + "/journal";
};

TEST_F(LogJournalTest, RecordsReplayInOrderFromAnyEnd) {
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->generation(), 7u);
  auto ends = j->Append({"first", "second"});
  ASSERT_TRUE(ends.ok());
  auto more = j->Append({"third"});
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->back(), j->size());
  EXPECT_EQ(ReplayAll(*j), (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(ReplayAll(*j, (*ends)[0]), (std::vector<std::string>{"second", "third"}));

  j.reset();
  auto reopened = Open(99);  // an intact header keeps its generation
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->generation(), 7u);
  EXPECT_EQ(ReplayAll(*reopened), (std::vector<std::string>{"first", "second", "third"}));
}

TEST_F(LogJournalTest, ATornTailIsCutAndAppendsFollowTheLastGoodRecord) {
  auto j = Open();
  ASSERT_TRUE(j);
  auto ends = j->Append({"kept", "torn record"});
  ASSERT_TRUE(ends.ok());
  j.reset();
  ASSERT_EQ(::truncate(path_.c_str(), static_cast<off_t>((*ends)[1] - 3)), 0);

  j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(ReplayAll(*j), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(j->size(), (*ends)[0]);
  ASSERT_TRUE(j->Append({"after"}).ok());
  EXPECT_EQ(ReplayAll(*j), (std::vector<std::string>{"kept", "after"}));
}

TEST_F(LogJournalTest, ACorruptRecordEndsTheJournal) {
  auto j = Open();
  ASSERT_TRUE(j);
  auto ends = j->Append({"one", "two", "three"});
  ASSERT_TRUE(ends.ok());
  Scribble((*ends)[0] + 8, "X");  // a payload byte of "two": its checksum no longer matches
  EXPECT_EQ(ReplayAll(*j), (std::vector<std::string>{"one"}));
  EXPECT_EQ(j->size(), (*ends)[0]);

  auto k = j->Append({"four"});
  ASSERT_TRUE(k.ok());
  Scribble((*ends)[0], std::string("\xff\xff\xff\xff", 4));  // an absurd length
  EXPECT_EQ(ReplayAll(*j), (std::vector<std::string>{"one"}));
}

TEST_F(LogJournalTest, ADamagedHeaderStartsAnEmptyJournalOfTheGivenGeneration) {
  auto j = Open();
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->Append({"lost with the header"}).ok());
  j.reset();
  Scribble(0, "NOTAJOUR");
  j = Open(42);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->generation(), 42u);
  EXPECT_EQ(j->size(), LogJournal::kHeaderBytes);
  EXPECT_TRUE(ReplayAll(*j).empty());
}

TEST_F(LogJournalTest, RotateEmptiesUnderANewGeneration) {
  auto j = Open();
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->Append({"old"}).ok());
  ASSERT_TRUE(j->Rotate(8).ok());
  EXPECT_EQ(j->generation(), 8u);
  EXPECT_EQ(j->size(), LogJournal::kHeaderBytes);
  EXPECT_TRUE(ReplayAll(*j).empty());
  ASSERT_TRUE(j->Append({"new"}).ok());
  j.reset();
  j = Open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->generation(), 8u);
  EXPECT_EQ(ReplayAll(*j), (std::vector<std::string>{"new"}));
}

TEST_F(LogJournalTest, EmptyRecordsAreRefused) {
  auto j = Open();
  ASSERT_TRUE(j);
  EXPECT_FALSE(j->Append({"ok", ""}).ok());
  EXPECT_TRUE(ReplayAll(*j).empty());  // nothing of the refused batch was written
}

}  // namespace
}  // namespace annex::logs
