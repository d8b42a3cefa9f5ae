#include "appliance/store/lmdb_env.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdint>

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

TEST_F(LmdbEnvTest, MapFullIsResourceExhausted) {
  annex::testing::TempDir small_dir;
  LmdbEnv::Options options;
  options.map_size = 256 * 1024;
  auto env = LmdbEnv::Open(small_dir.path(), options);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  Table t = *(*env)->OpenTable("t");
  auto txn = (*env)->BeginWrite();
  Status s;
  for (int i = 0; i < 1000 && s.ok(); ++i) s = txn->Put(t, "k" + std::to_string(i), std::string(2000, 'v'));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
}

// A commit whose page writes the disk cuts short: LMDB answers EIO, not
// ENOSPC. RLIMIT_FSIZE stands in for the full disk (a write crossing the limit
// is shortened just as one crossing the last free block), and the free-space
// margin decides whether the disk counts as full.
class LmdbShortWriteTest : public ::testing::TestWithParam<bool> {
 protected:
  Status CommitCutShort(bool disk_full) {
    LmdbEnv::Options options;
    options.full_disk_margin = disk_full ? UINT64_MAX : 0;
    auto env = LmdbEnv::Open(tmp_.path(), options);
    if (!env.ok()) return env.status();
    Table t = *(*env)->OpenTable("t");
    struct stat st {};
    ::stat((tmp_.path() + "/data.mdb").c_str(), &st);
    auto txn = (*env)->BeginWrite();
    for (int i = 0; i < 64; ++i) ANNEX_RETURN_IF_ERROR(txn->Put(t, "k" + std::to_string(i), std::string(3000, 'v')));
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit limited = old;
    limited.rlim_cur = static_cast<rlim_t>(st.st_size) + 4096 + 100;  // mid-page: the write is shortened
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    ::setrlimit(RLIMIT_FSIZE, &limited);
    Status s = txn->Commit();
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    return s;
  }
  annex::testing::TempDir tmp_;
};

TEST_P(LmdbShortWriteTest, EioOnAFullDiskIsResourceExhausted) {
  bool disk_full = GetParam();
  Status s = CommitCutShort(disk_full);
  EXPECT_EQ(s.code(), disk_full ? StatusCode::kResourceExhausted : StatusCode::kIOError) << s.ToString();
  // The short write itself, not a write refused outright (EFBIG).
  EXPECT_NE(s.ToString().find(disk_full ? "disk is full" : "Input/output error"), std::string::npos) << s.ToString();
}

INSTANTIATE_TEST_SUITE_P(DiskFull, LmdbShortWriteTest, ::testing::Bool());

}  // namespace
}  // namespace annex::store
