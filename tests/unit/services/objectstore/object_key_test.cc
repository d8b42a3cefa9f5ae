#include "services/objectstore/object_key.h"

#include <gtest/gtest.h>

#include "services/objectstore/bucket_name.h"

namespace annex::objectstore {
namespace {

TEST(ObjectKeyTest, Validation) {
  EXPECT_TRUE(ValidateObjectKey("a").ok());
  EXPECT_TRUE(ValidateObjectKey("../../etc/passwd").ok());  // opaque text, never a path
  EXPECT_TRUE(ValidateObjectKey("日本語/キー 😀").ok());
  EXPECT_TRUE(ValidateObjectKey(std::string(1024, 'k')).ok());
  EXPECT_EQ(ValidateObjectKey(std::string(1025, 'k')).subcode(), "KeyTooLongError");
  EXPECT_EQ(ValidateObjectKey("").subcode(), "InvalidArgument");
  EXPECT_EQ(ValidateObjectKey(std::string("a\0b", 3)).subcode(), "InvalidArgument");
  EXPECT_EQ(ValidateObjectKey("\xff\xfe").subcode(), "InvalidArgument");
  EXPECT_EQ(ValidateObjectKey("\xc0\xaf").subcode(), "InvalidArgument");      // overlong '/'
  EXPECT_EQ(ValidateObjectKey("\xed\xa0\x80").subcode(), "InvalidArgument");  // surrogate
}

TEST(ObjectKeyTest, EncodingKeepsByteOrderWithinBucket) {
  std::vector<std::string> keys = {"a", "a/b", "a0", "b", "z", "\xc3\xa9", "\xe2\x82\xac"};
  for (size_t i = 1; i < keys.size(); ++i) {
    EXPECT_LT(EncodeObjectKey("bkt", keys[i - 1]), EncodeObjectKey("bkt", keys[i])) << keys[i];
  }
  // A bucket's range never interleaves with a bucket whose name extends it.
  EXPECT_LT(EncodeObjectKey("bkt", "\xf4\x8f\xbf\xbf"), EncodeObjectKey("bkt0", "a"));
  EXPECT_TRUE(EncodeObjectKey("bkt", "x").starts_with(BucketKeyPrefix("bkt")));
}

TEST(ObjectKeyTest, LongKeysAreTruncatedAndHashed) {
  std::string base(kMaxInlineKeyBytes, 'p');
  std::string a = base + "a", b = base + "b";
  std::string ea = EncodeObjectKey("bkt", a), eb = EncodeObjectKey("bkt", b);
  EXPECT_NE(ea, eb);
  EXPECT_EQ(ea.size(), 4 + kMaxInlineKeyBytes + kKeyHashBytes);
  EXPECT_EQ(EncodeObjectKey("bkt", std::string(1024, 'x')).size(), 4 + kMaxInlineKeyBytes + kKeyHashBytes);
  EXPECT_LT(EncodeObjectKey("bkt", base), ea);  // the short prefix key sorts first
  EXPECT_LE(EncodeObjectKey(std::string(63, 'b'), std::string(1024, 'x')).size() + 1 + 32, 511u);
}

TEST(ObjectKeyTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("abc/"), "abc0");
  EXPECT_EQ(PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), "");
  EXPECT_GT(PrefixSuccessor("dir/"), std::string("dir/\xf4\x8f\xbf\xbf"));
}

TEST(BucketNameTest, AcceptsValidNames) {
  for (std::string name : {std::string("abc"), std::string("my-bucket"), std::string("my.bucket.name"),
                           std::string("a-b.c-d"), std::string("123"), std::string(63, 'a')}) {
    EXPECT_TRUE(ValidateBucketName(name).ok()) << name;
  }
}

TEST(BucketNameTest, RejectsInvalidNames) {
  for (std::string name : {std::string("ab"), std::string(64, 'a'), std::string("MyBucket"), std::string("my_bucket"),
                           std::string("-abc"), std::string("abc-"), std::string(".abc"), std::string("a..b"),
                           std::string("192.168.1.1"), std::string("xn--abc"), std::string("abc-s3alias"),
                           std::string("sthree-abc"), std::string("abc--ol-s3"), std::string("a b c"),
                           std::string("ab/c")}) {
    Status s = ValidateBucketName(name);
    EXPECT_EQ(s.subcode(), "InvalidBucketName") << name;
  }
}

}  // namespace
}  // namespace annex::objectstore
