#include "appliance/store/record.h"

#include <gtest/gtest.h>

namespace annex::store {
namespace {

TEST(Record, RoundTrip) {
  std::string data = RecordWriter(3).U64(0).U64(300).U64(UINT64_MAX).I64(-5).Bool(true).Bytes("k\0v").Finish();
  RecordReader r(data);
  EXPECT_EQ(r.version(), 3);
  EXPECT_EQ(*r.U64(), 0u);
  EXPECT_EQ(*r.U64(), 300u);
  EXPECT_EQ(*r.U64(), UINT64_MAX);
  EXPECT_EQ(*r.I64(), -5);
  EXPECT_TRUE(*r.Bool());
  EXPECT_EQ(*r.Bytes(), std::string("k\0v", 1) );
  EXPECT_TRUE(r.Finish().ok());
}

TEST(Record, TruncationIsCorruption) {
  std::string data = RecordWriter(1).Bytes("hello").Finish();
  data.pop_back();
  RecordReader r(data);
  EXPECT_EQ(r.Bytes().status().code(), StatusCode::kCorruption);
  RecordReader empty("");
  EXPECT_EQ(empty.U64().status().code(), StatusCode::kCorruption);
}

TEST(Record, TrailingBytesAreCorruption) {
  std::string data = RecordWriter(1).U64(7).Finish() + "x";
  RecordReader r(data);
  EXPECT_EQ(*r.U64(), 7u);
  EXPECT_EQ(r.Finish().code(), StatusCode::kCorruption);
}

TEST(Record, BigEndianKeysSortNumerically) {
  std::string a, b;
  AppendBigEndian32(a, 9);
  AppendBigEndian32(b, 10);
  EXPECT_LT(a, b);
  EXPECT_EQ(ReadBigEndian32(b), 10u);
  std::string c;
  AppendBigEndian64(c, 0x0102030405060708ull);
  EXPECT_EQ(ReadBigEndian64(c), 0x0102030405060708ull);
}

}  // namespace
}  // namespace annex::store
