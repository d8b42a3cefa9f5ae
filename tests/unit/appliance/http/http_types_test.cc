#include <gtest/gtest.h>

#include "appliance/http/headers.h"
#include "appliance/http/query.h"
#include "appliance/http/request.h"

namespace annex::http {
namespace {

TEST(Headers, CaseInsensitiveAndOrdered) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-Amz-Meta-A", "1");
  EXPECT_EQ(*h.Get("content-type"), "text/plain");
  EXPECT_EQ(*h.Get("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(h.fields()[1].name, "x-amz-meta-a");
  h.Set("content-type", "a/b");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.GetOr("missing", "dflt"), "dflt");
  h.Remove("X-AMZ-META-A");
  EXPECT_FALSE(h.Has("x-amz-meta-a"));
}

TEST(QueryParams, DecodesAndKeepsSubresources) {
  auto q = QueryParams::Parse("uploads&prefix=a%2Fb&max-keys=2&x=a+b");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->Has("uploads"));
  EXPECT_EQ(*q->Get("uploads"), "");
  EXPECT_EQ(*q->Get("prefix"), "a/b");
  EXPECT_EQ(*q->Get("x"), "a+b");  // '+' is literal in URLs
  auto form = QueryParams::Parse("x=a+b", /*plus_is_space=*/true);
  EXPECT_EQ(*form->Get("x"), "a b");
  EXPECT_FALSE(QueryParams::Parse("a=%zz").ok());
}

TEST(Request, ParseTargetSplitsPathAndQuery) {
  Request r;
  ASSERT_TRUE(ParseTarget("/bucket/a%20b/..%2Fc?list-type=2&prefix=x", r).ok());
  EXPECT_EQ(r.raw_path, "/bucket/a%20b/..%2Fc");
  EXPECT_EQ(r.path, "/bucket/a b/../c");
  EXPECT_EQ(r.raw_query, "list-type=2&prefix=x");
  EXPECT_EQ(*r.query.Get("list-type"), "2");
  Request bad;
  Status s = ParseTarget("/b/%G0", bad);
  EXPECT_EQ(s.subcode(), "InvalidURI");
}

TEST(Request, HostWithoutPort) {
  Request r;
  r.headers.Add("Host", "Bucket.S3.localhost:4566");
  EXPECT_EQ(r.HostWithoutPort(), "bucket.s3.localhost");
  Request v6;
  v6.headers.Add("Host", "[::1]:4566");
  EXPECT_EQ(v6.HostWithoutPort(), "[::1]");
}

}  // namespace
}  // namespace annex::http
