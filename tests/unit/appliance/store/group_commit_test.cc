#include "appliance/store/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include "tests/unit/testing/temp_dir.h"
#include <thread>

namespace annex::store {
namespace {

class GroupCommitterTest : public ::testing::TestWithParam<bool> {};

TEST_P(GroupCommitterTest, ConcurrentWritersAllCommitAndFailuresAreIsolated) {
  annex::testing::TempDir tmp;
  LmdbEnv::Options options;
  options.defer_meta_sync = GetParam();
  auto env = LmdbEnv::Open(tmp.path(), options);
  ASSERT_TRUE(env.ok());
  Table table = *(*env)->OpenTable("t");
  {
    GroupCommitter committer(**env);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0}, failed{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          std::string key = std::to_string(t) + "/" + std::to_string(i);
          bool fail = i % 10 == 0;
          Status s = committer.Run([&](WriteTxn& txn) -> Status {
            ANNEX_RETURN_IF_ERROR(txn.Put(table, key, "v"));
            if (fail) return Status::Aborted("injected");
            return Status::OK();
          });
          (s.ok() ? ok : failed)++;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok.load(), 8 * 45);
    EXPECT_EQ(failed.load(), 8 * 5);
  }
  // Everything acknowledged is there after a reopen.
  env->reset();
  auto reopened = LmdbEnv::Open(tmp.path(), options);
  ASSERT_TRUE(reopened.ok());
  table = *(*reopened)->OpenTable("t");
  auto r = (*reopened)->BeginRead();
  EXPECT_TRUE(r->Get(table, "3/1")->has_value());
  EXPECT_TRUE(r->Get(table, "7/49")->has_value());
  EXPECT_FALSE(r->Get(table, "3/10")->has_value());  // its operation failed: rolled back alone
}

TEST_P(GroupCommitterTest, DirectCommitsStayDurableBesideTheCommitter) {
  annex::testing::TempDir tmp;
  LmdbEnv::Options options;
  options.defer_meta_sync = GetParam();
  auto env = LmdbEnv::Open(tmp.path(), options).value();
  Table table = env->OpenTable("t").value();
  GroupCommitter committer(*env);
  ASSERT_TRUE(committer.Run([&](WriteTxn& txn) { return txn.Put(table, "via-committer", "1"); }).ok());
  auto txn = env->BeginWrite().value();
  ASSERT_TRUE(txn.Put(table, "direct", "1").ok());
  ASSERT_TRUE(txn.Commit().ok());
  auto r = env->BeginRead().value();
  EXPECT_TRUE(r.Get(table, "via-committer")->has_value());
  EXPECT_TRUE(r.Get(table, "direct")->has_value());
}

INSTANTIATE_TEST_SUITE_P(MetaSync, GroupCommitterTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Deferred" : "Immediate"; });

}  // namespace
}  // namespace annex::store

namespace annex::store {
namespace {

// A batch that changes nothing makes LMDB skip its flush; the batch before it
// must then still get its meta page flushed before it is acknowledged.
TEST(GroupCommitterDeferred, BatchWithoutChangesDoesNotCarryThePreviousOne) {
  annex::testing::TempDir tmp;
  LmdbEnv::Options options;
  options.defer_meta_sync = true;
  auto env = LmdbEnv::Open(tmp.path(), options).value();
  Table table = env->OpenTable("t").value();
  uint64_t start = env->LastTxnId();
  {
    GroupCommitter committer(*env);
    ASSERT_TRUE(committer.Run([&](WriteTxn& txn) { return txn.Put(table, "a", "1"); }).ok());
    EXPECT_EQ(committer.Run([](WriteTxn&) { return Status::Aborted("nothing"); }).code(), StatusCode::kAborted);
    ASSERT_TRUE(committer.Run([](WriteTxn&) { return Status::OK(); }).ok());  // succeeds, writes nothing
  }
  EXPECT_EQ(env->LastTxnId(), start + 1);  // only the real write became a transaction
  auto r = env->BeginRead().value();
  EXPECT_EQ(**r.Get(table, "a"), "1");
}

}  // namespace
}  // namespace annex::store
