#include "appliance/core/result.h"

#include <gtest/gtest.h>

namespace annex {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Status Quarter(int v, int* out) {
  ANNEX_ASSIGN_OR_RETURN(int h, Half(v));
  ANNEX_ASSIGN_OR_RETURN(int q, Half(h));
  *out = q;
  return Status::OK();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::NotFound("bucket x");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: bucket x");
}

TEST(Status, ErrnoMapping) {
  EXPECT_EQ(Status::FromErrno(ENOSPC, "write").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Status::FromErrno(ENOENT, "open").code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::FromErrno(EIO, "read").code(), StatusCode::kIOError);
}

TEST(Result, PropagatesErrors) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

TEST(Result, SubcodeCarriesProtocolCode) {
  Status s(StatusCode::kInvalidArgument, "bad", "BadDigest");
  EXPECT_EQ(s.subcode(), "BadDigest");
}

}  // namespace
}  // namespace annex
