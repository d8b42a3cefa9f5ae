#include "appliance/store/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include "tests/unit/testing/temp_dir.h"
#include <thread>

namespace annex::store {
namespace {

TEST(GroupCommitter, ConcurrentWritersAllCommitAndFailuresAreIsolated) {
  annex::testing::TempDir tmp;
  auto env = LmdbEnv::Open(tmp.path());
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
  auto r = (*env)->BeginRead();
  EXPECT_TRUE(r->Get(table, "3/1")->has_value());
  EXPECT_FALSE(r->Get(table, "3/10")->has_value());  // its operation failed: rolled back alone
}

}  // namespace
}  // namespace annex::store
