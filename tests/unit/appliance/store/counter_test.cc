// Counters: 0 until written, what was written after, and a damaged value
// refused rather than misread.

#include "appliance/store/counter.h"

#include <gtest/gtest.h>

#include "tests/unit/testing/temp_dir.h"

namespace annex::store {
namespace {

TEST(CounterTest, ReadsZeroUntilWrittenAndRefusesADamagedValue) {
  annex::testing::TempDir dir;
  auto env = LmdbEnv::Open(dir.path()).value();
  Table meta = env->OpenTable("meta").value();
  {
    auto txn = env->BeginWrite().value();
    EXPECT_EQ(ReadCounter(txn, meta, "last_seq").value(), 0u);
    ASSERT_TRUE(WriteCounter(txn, meta, "last_seq", 0x0102030405060708ull).ok());
    ASSERT_TRUE(txn.Put(meta, "damaged", "1234567").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto txn = env->BeginRead().value();
  EXPECT_EQ(ReadCounter(txn, meta, "last_seq").value(), 0x0102030405060708ull);
  EXPECT_EQ(ReadCounter(txn, meta, "damaged").status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace annex::store
