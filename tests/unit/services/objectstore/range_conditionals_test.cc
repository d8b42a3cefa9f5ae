#include <gtest/gtest.h>

#include "services/objectstore/conditionals.h"
#include "services/objectstore/range.h"

namespace annex::objectstore {
namespace {

using Kind = RangeSpec::Kind;

TEST(RangeTest, Forms) {
  RangeSpec r = ParseRange("bytes=0-9", 100);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.range.first, 0u);
  EXPECT_EQ(r.range.length, 10u);

  r = ParseRange("bytes=90-", 100);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.range.first, 90u);
  EXPECT_EQ(r.range.length, 10u);

  r = ParseRange("bytes=-5", 100);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.range.first, 95u);
  EXPECT_EQ(r.range.last(), 99u);

  r = ParseRange("bytes=-500", 100);  // suffix longer than the object: all of it
  EXPECT_EQ(r.range.first, 0u);
  EXPECT_EQ(r.range.length, 100u);

  r = ParseRange("bytes=50-1000", 100);  // end clamped
  EXPECT_EQ(r.range.length, 50u);
}

TEST(RangeTest, Unsatisfiable) {
  EXPECT_EQ(ParseRange("bytes=100-", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=100-200", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-", 0).kind, Kind::kUnsatisfiable);
}

TEST(RangeTest, IgnoredHeaders) {
  for (const char* h : {"bytes=0-1,5-6", "items=0-5", "bytes=5-1", "bytes=a-b", "bytes=", "bytes=-", ""}) {
    EXPECT_EQ(ParseRange(h, 100).kind, Kind::kWhole) << h;
  }
}

TEST(RangeTest, CopySourceRange) {
  auto r = ParseCopySourceRange("bytes=10-19", 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 10u);
  EXPECT_EQ(r->length, 10u);
  EXPECT_EQ(ParseCopySourceRange("bytes=10-", 100).status().subcode(), "InvalidArgument");
  EXPECT_EQ(ParseCopySourceRange("bytes=90-100", 100).status().subcode(), "InvalidRange");
}

SystemTime T(int64_t s) { return SystemTime(std::chrono::seconds(s)); }

TEST(ConditionalsTest, EtagLists) {
  EXPECT_TRUE(EtagListMatches("\"abc\"", "abc"));
  EXPECT_TRUE(EtagListMatches("abc", "abc"));
  EXPECT_TRUE(EtagListMatches("\"x\", W/\"abc\"", "abc"));
  EXPECT_TRUE(EtagListMatches("*", "anything"));
  EXPECT_FALSE(EtagListMatches("\"abd\"", "abc"));
}

TEST(ConditionalsTest, Precedence) {
  const SystemTime modified = T(1000);
  Preconditions p;
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kProceed);

  p = {};
  p.if_match = "\"other\"";
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kPreconditionFailed);

  // If-Match true wins over a failing If-Unmodified-Since.
  p = {};
  p.if_match = "\"e\"";
  p.if_unmodified_since = T(10);
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kProceed);

  p = {};
  p.if_unmodified_since = T(10);
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kPreconditionFailed);

  p = {};
  p.if_none_match = "\"e\"";
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kNotModified);

  // If-None-Match false (etag differs) means If-Modified-Since is ignored.
  p = {};
  p.if_none_match = "\"x\"";
  p.if_modified_since = T(5000);
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kProceed);

  p = {};
  p.if_modified_since = T(5000);
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kNotModified);
  p.if_modified_since = T(999);
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified), ConditionOutcome::kProceed);
  // Sub-second Last-Modified compares at one-second resolution.
  p.if_modified_since = T(1000);
  EXPECT_EQ(EvaluatePreconditions(p, "e", modified + std::chrono::milliseconds(400)), ConditionOutcome::kNotModified);
}

TEST(ConditionalsTest, ParsesPrefixedHeaders) {
  http::Headers h;
  h.Add("x-amz-copy-source-if-match", "\"abc\"");
  h.Add("x-amz-copy-source-if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT");
  h.Add("if-none-match", "*");
  Preconditions p = ParsePreconditions(h, "x-amz-copy-source-");
  ASSERT_TRUE(p.if_match);
  EXPECT_EQ(*p.if_match, "\"abc\"");
  EXPECT_TRUE(p.if_modified_since);
  EXPECT_FALSE(p.if_none_match);
  EXPECT_TRUE(ParsePreconditions(h).if_none_match);
}

}  // namespace
}  // namespace annex::objectstore
