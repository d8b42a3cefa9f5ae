#include "appliance/store/lmdb_env.h"

#include <gtest/gtest.h>

#include "tests/unit/testing/temp_dir.h"

namespace annex::store {
namespace {

class LmdbEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    env_.reset();
    auto env = LmdbEnv::Open(dir_);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    table_ = *env_->OpenTable("t");
  }
  annex::testing::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
  std::unique_ptr<LmdbEnv> env_;
  Table table_;
};

TEST_F(LmdbEnvTest, CommittedWritesSurviveReopen) {
  {
    auto txn = env_->BeginWrite();
    ASSERT_TRUE(txn->Put(table_, "a", "1").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  {
    auto txn = env_->BeginWrite();
    ASSERT_TRUE(txn->Put(table_, "b", "2").ok());
    // destroyed without commit: aborted
  }
  Reopen();
  auto r = env_->BeginRead();
  EXPECT_EQ(**r->Get(table_, "a"), "1");
  EXPECT_FALSE(r->Get(table_, "b")->has_value());
}

TEST_F(LmdbEnvTest, CursorScansInByteOrder) {
  auto txn = env_->BeginWrite();
  for (std::string k : {"b", "a\xff", "a", "c/d", "c"}) ASSERT_TRUE(txn->Put(table_, k, "v").ok());
  ASSERT_TRUE(txn->Commit().ok());
  auto r = env_->BeginRead();
  auto c = r->OpenCursor(table_);
  ASSERT_TRUE(c->Seek("a\x01").ok());
  std::vector<std::string> keys;
  for (; c->Valid(); (void)c->Next()) keys.emplace_back(c->key());
  EXPECT_EQ(keys, (std::vector<std::string>{"a\xff", "b", "c", "c/d"}));
  ASSERT_TRUE(c->SeekBefore("c").ok());
  EXPECT_EQ(c->key(), "b");
}

TEST_F(LmdbEnvTest, NestedAbortLeavesParentIntact) {
  auto txn = env_->BeginWrite();
  ASSERT_TRUE(txn->Put(table_, "keep", "1").ok());
  {
    auto nested = txn->BeginNested();
    ASSERT_TRUE(nested->Put(table_, "drop", "1").ok());
    nested->Abort();
  }
  ASSERT_TRUE(txn->Commit().ok());
  auto r = env_->BeginRead();
  EXPECT_TRUE(r->Get(table_, "keep")->has_value());
  EXPECT_FALSE(r->Get(table_, "drop")->has_value());
}

TEST_F(LmdbEnvTest, RecycledReadTransactionsSeeLaterCommits) {
  for (int i = 0; i < 3; ++i) {
    auto txn = env_->BeginWrite();
    ASSERT_TRUE(txn->Put(table_, "k", std::to_string(i)).ok());
    ASSERT_TRUE(txn->Commit().ok());
    auto r = env_->BeginRead();  // renewed from the idle list after the first round
    EXPECT_EQ(**r->Get(table_, "k"), std::to_string(i));
  }
  // Two readers at once: the second cannot reuse the first's transaction.
  auto a = env_->BeginRead();
  auto b = env_->BeginRead();
  EXPECT_NE(a->raw(), b->raw());
}

TEST_F(LmdbEnvTest, DeleteMissingIsNotFound) {
  auto txn = env_->BeginWrite();
  EXPECT_TRUE(txn->Delete(table_, "nope").IsNotFound());
}

}  // namespace
}  // namespace annex::store
