#include "services/objectstore/post_policy.h"

#include <gtest/gtest.h>

namespace annex::objectstore {
namespace {

std::string Encode(std::string_view json) { return Base64Encode(json); }

SystemTime At(std::string_view iso) { return *ParseIso8601(iso); }

const SystemTime kNow = At("2026-05-06T07:08:09Z");

PostPolicy Parse(std::string_view conditions, std::string_view expiration = "2030-01-01T00:00:00.000Z") {
  Result<PostPolicy> p = ParsePostPolicy(
      Encode("{\"expiration\": \"" + std::string(expiration) + "\", \"conditions\": " + std::string(conditions) + "}"));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : PostPolicy{};
}

std::string Check(std::string_view conditions, const PostFields& fields, std::string_view bucket = "bkt") {
  Status s = CheckPostPolicy(Parse(conditions), fields, bucket, kNow);
  return s.ok() ? "OK" : s.subcode() + ": " + s.message();
}

TEST(PostPolicyTest, BotoPolicyHolds) {
  PostFields fields = {{"key", "uploads/a.txt"},
                       {"x-amz-algorithm", "AWS4-HMAC-SHA256"},
                       {"x-amz-credential", "AKID/20260506/us-east-1/s3/aws4_request"},
                       {"x-amz-date", "20260506T070809Z"},
                       {"policy", "ignored"},
                       {"x-amz-signature", "ignored"},
                       {"x-ignore-submit", "Upload"}};
  EXPECT_EQ(Check(R"([{"bucket": "bkt"}, ["starts-with", "$key", "uploads/"],
                      {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                      {"x-amz-credential": "AKID/20260506/us-east-1/s3/aws4_request"},
                      {"x-amz-date": "20260506T070809Z"}, ["content-length-range", 1, 100]])",
                  fields),
            "OK");
}

TEST(PostPolicyTest, ConditionsThatFail) {
  PostFields fields = {{"key", "a/b"}, {"acl", "private"}, {"content-type", "image/png, image/gif"}};
  const std::string cover = R"({"bucket": "bkt"}, ["starts-with", "$key", ""], ["starts-with", "$acl", ""],
                               ["starts-with", "$content-type", ""])";
  auto with = [&](std::string c) { return "[" + cover + ", " + c + "]"; };
  const std::string failed = "AccessDenied: Invalid according to Policy: Policy Condition failed: ";
  EXPECT_EQ(Check(with(R"(["eq", "$key", "a/c"])"), fields), failed + R"(["eq", "$key", "a/c"])");
  EXPECT_EQ(Check(with(R"({"acl": "x"})"), fields), failed + R"(["eq", "$acl", "x"])");
  EXPECT_EQ(Check(with(R"({"Key": "A/B"})"), fields), failed + R"(["eq", "$Key", "A/B"])");       // values keep case
  EXPECT_EQ(Check(with(R"({"KEY": "a/b"})"), fields), "OK");                                      // names do not
  EXPECT_EQ(Check(with(R"(["eq", "key", "a/b"])"), fields), failed + R"(["eq", "key", "a/b"])");  // no '$'
  EXPECT_EQ(Check(with(R"({"x-amz-meta-a": "1"})"), fields), failed + R"(["eq", "$x-amz-meta-a", "1"])");
  EXPECT_EQ(Check(with(R"(["starts-with", "$x-amz-meta-a", ""])"), fields), "OK");        // "" accepts no field too
  EXPECT_EQ(Check(with(R"(["starts-with", "$Content-Type", "image/"])"), fields), "OK");  // each item of the list
  fields[2].value = "image/png,text/html";
  EXPECT_EQ(Check(with(R"(["starts-with", "$Content-Type", "image/"])"), fields),
            failed + R"(["starts-with", "$Content-Type", "image/"])");
  EXPECT_EQ(Check(with(R"({"bucket": "other"})"), fields), failed + R"(["eq", "$bucket", "other"])");
  EXPECT_EQ(Check(with(R"(["eq", "$key", "a/\"b"])"), fields), failed + R"(["eq", "$key", "a/\"b"])");
}

TEST(PostPolicyTest, EveryFieldNeedsACondition) {
  PostFields fields = {{"key", "k"},       {"expires", "0"}, {"x-ignore-me", "1"}, {"awsaccesskeyid", "AKID"},
                       {"signature", "s"}, {"file", "f"}};
  EXPECT_EQ(Check(R"([{"bucket": "bkt"}, {"key": "k"}])", fields),
            "AccessDenied: Invalid according to Policy: Extra input fields: expires");
  EXPECT_EQ(Check(R"([{"key": "k"}, {"expires": "0"}])", fields),
            "AccessDenied: Invalid according to Policy: Extra input fields: bucket");
  EXPECT_EQ(Check(R"([{"bucket": "bkt"}, {"key": "k"}, ["starts-with", "$Expires", ""]])", fields), "OK");
}

TEST(PostPolicyTest, Expiration) {
  PostFields fields = {{"key", "k"}};
  const std::string c = R"([{"bucket": "b"}, {"key": "k"}])";
  EXPECT_TRUE(CheckPostPolicy(Parse(c, "2026-05-06T07:08:10Z"), fields, "b", kNow).ok());
  Status expired = CheckPostPolicy(Parse(c, "2026-05-06T07:08:08.999Z"), fields, "b", kNow);
  EXPECT_EQ(expired.subcode(), "AccessDenied");
  EXPECT_EQ(expired.message(), "Invalid according to Policy: Policy expired.");
}

TEST(PostPolicyTest, DocumentsS3CannotRead) {
  auto error = [](std::string_view json) {
    Result<PostPolicy> p = ParsePostPolicy(Encode(json));
    return p.ok() ? std::string("OK") : p.status().subcode() + ": " + p.status().message();
  };
  const std::string exp = R"("expiration": "2030-01-01T00:00:00Z")";
  EXPECT_EQ(ParsePostPolicy("{policy}").status().subcode(), "InvalidPolicyDocument");  // not base64
  EXPECT_EQ(error("expiration"), "InvalidPolicyDocument: Invalid Policy: Invalid JSON.");
  EXPECT_EQ(error("[]"), "InvalidPolicyDocument: Invalid Policy: Invalid JSON.");
  EXPECT_EQ(error(R"({"conditions": []})"), "InvalidPolicyDocument: Invalid Policy: Policy missing expiration.");
  EXPECT_EQ(error("{" + exp + "}"), "InvalidPolicyDocument: Invalid Policy: Policy missing conditions.");
  EXPECT_EQ(error("{" + exp + R"(, "conditions": {}})"),
            "InvalidPolicyDocument: Invalid Policy: Invalid 'conditions' value: must be a List.");
  for (std::string_view bad :
       {"2030-01-01 00:00:00", "2030-01-01T00:00:00+00:00", "2030-02-30T00:00:00Z", "tomorrow"}) {
    EXPECT_EQ(error(R"({"expiration": ")" + std::string(bad) + R"(", "conditions": []})"),
              "InvalidPolicyDocument: Invalid Policy: Invalid 'expiration' value: '" + std::string(bad) + "'");
  }
  const std::string one =
      "InvalidPolicyDocument: Invalid Policy: Invalid Simple-Condition: Simple-Conditions must "
      "have exactly one property specified.";
  EXPECT_EQ(error("{" + exp + R"(, "conditions": [{}]})"), one);
  EXPECT_EQ(error("{" + exp + R"(, "conditions": [{"acl": "a", "key": "k"}]})"), one);
  for (std::string_view c : {R"({"acl": 1})", R"("bucket")", R"(["eq", "$key"])", R"(["ends-with", "$key", "x"])",
                             R"(["content-length-range", 0])", R"(["content-length-range", -1, 0])",
                             R"(["content-length-range", 0, "x"])", R"([])", R"([1, 2, 3])"}) {
    Result<PostPolicy> p = ParsePostPolicy(Encode("{" + exp + R"(, "conditions": [)" + std::string(c) + "]}"));
    ASSERT_FALSE(p.ok()) << c;
    EXPECT_EQ(p.status().subcode(), "InvalidPolicyDocument") << c;
    EXPECT_TRUE(StartsWith(p.status().message(), "Invalid Policy: ")) << p.status().message();
  }
}

TEST(PostPolicyTest, LengthRange) {
  PostPolicy p = Parse(R"([["content-length-range", 5, 10], ["content-length-range", "0", "8"]])");
  LengthRange r = AllowedLength(p);
  EXPECT_EQ(r.min, 5u);
  EXPECT_EQ(r.max, 8u);
  EXPECT_TRUE(CheckLength(r, 5).ok());
  EXPECT_TRUE(CheckLength(r, 8).ok());
  EXPECT_EQ(CheckLength(r, 4).subcode(), "EntityTooSmall");
  EXPECT_EQ(CheckLength(r, 4).message(), "Your proposed upload is smaller than the minimum allowed size");
  EXPECT_EQ(CheckLength(r, 9).subcode(), "EntityTooLarge");
  EXPECT_EQ(CheckLength(r, 9).message(), "Your proposed upload exceeds the maximum allowed size");
  EXPECT_TRUE(CheckLength(AllowedLength(Parse("[]")), uint64_t{1} << 40).ok());
}

}  // namespace
}  // namespace annex::objectstore
