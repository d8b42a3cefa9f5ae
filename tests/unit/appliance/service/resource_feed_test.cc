// The resource feed: each resource once per read in its latest state,
// versions that only grow (across a delete and re-create too), tombstones
// for readers that were away, none for a reader starting afresh, paging,
// and a change that rolls back with its transaction.

#include "appliance/service/resource_feed.h"

#include <gtest/gtest.h>

#include "tests/unit/testing/temp_dir.h"

namespace annex::service {
namespace {

class ResourceFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = store::LmdbEnv::Open(tmp_.path()).value();
    feed_ = ResourceFeed::Open(*env_).value();
  }

  void Change(const std::string& id, bool deleted = false) {
    auto txn = env_->BeginWrite().value();
    ASSERT_TRUE(feed_->Changed(txn, "bucket", id, deleted).ok());
    ASSERT_TRUE(txn.Commit().ok());
  }

  ResourceFeed::Page Since(uint64_t cursor, size_t max = 100) {
    auto txn = env_->BeginRead().value();
    return feed_->Since(txn, cursor, max).value();
  }

  static std::vector<std::string> Ids(const ResourceFeed::Page& page) {
    std::vector<std::string> ids;
    for (const auto& e : page.entries) ids.push_back(e.id + (e.deleted ? "-" : "") + "@" + std::to_string(e.version));
    return ids;
  }

  annex::testing::TempDir tmp_;
  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<ResourceFeed> feed_;
};

TEST_F(ResourceFeedTest, AReaderGetsEachChangedResourceOnceInItsLatestState) {
  EXPECT_TRUE(feed_->Empty(env_->BeginRead().value()).value());
  Change("a");
  Change("b");
  auto first = Since(0);
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"a@1", "b@1"}));
  EXPECT_FALSE(first.more);
  EXPECT_EQ(Since(first.cursor).entries.size(), 0u) << "nothing changed since";

  Change("a");
  Change("c");
  Change("a");
  EXPECT_EQ(Ids(Since(first.cursor)), (std::vector<std::string>{"c@1", "a@3"}));
  EXPECT_EQ(Ids(Since(0)), (std::vector<std::string>{"b@1", "c@1", "a@3"}));
}

TEST_F(ResourceFeedTest, DeletionsReachReadersThatWereAwayAndVersionsGoOn) {
  Change("a");
  Change("b");
  uint64_t away = Since(0).cursor;
  Change("a", /*deleted=*/true);
  EXPECT_EQ(Ids(Since(away)), (std::vector<std::string>{"a-@2"}));
  EXPECT_EQ(Ids(Since(0)), (std::vector<std::string>{"b@1"})) << "a fresh reader needs no tombstones";
  EXPECT_EQ(Since(0).cursor, Since(away).cursor) << "a fresh reader still moves past them";
  Change("a");  // created again under the same name
  EXPECT_EQ(Ids(Since(away)), (std::vector<std::string>{"a@3"}));
}

TEST_F(ResourceFeedTest, PagesEndWhereTheNextBegins) {
  for (int i = 0; i < 10; ++i) Change("r" + std::to_string(i));
  std::vector<std::string> all;
  uint64_t cursor = 0;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    auto page = Since(cursor, 3);
    for (const auto& id : Ids(page)) all.push_back(id);
    more = page.more;
    cursor = page.cursor;
  }
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all.front(), "r0@1");
  EXPECT_EQ(all.back(), "r9@1");
}

TEST_F(ResourceFeedTest, AChangeRollsBackWithItsTransaction) {
  Change("a");
  {
    auto txn = env_->BeginWrite().value();
    ASSERT_TRUE(feed_->Changed(txn, "bucket", "b").ok());
    txn.Abort();
  }
  EXPECT_EQ(Ids(Since(0)), (std::vector<std::string>{"a@1"}));
  EXPECT_EQ(feed_->Head(env_->BeginRead().value()).value(), 1u);
}

TEST_F(ResourceFeedTest, KindsKeepTheirOwnIds) {
  auto txn = env_->BeginWrite().value();
  ASSERT_TRUE(feed_->Changed(txn, "bucket", "x").ok());
  ASSERT_TRUE(feed_->Changed(txn, "repository", "x").ok());
  ASSERT_TRUE(txn.Commit().ok());
  auto page = Since(0);
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_EQ(page.entries[0].kind, "bucket");
  EXPECT_EQ(page.entries[1].kind, "repository");
}

}  // namespace
}  // namespace annex::service
