#include <gtest/gtest.h>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "services/objectstore/cors.h"
#include "services/objectstore/multipart_etag.h"

namespace annex::objectstore {
namespace {

TEST(MultipartEtagTest, CompositeEtagIsMd5OfPartMd5s) {
  std::string p1 = HexEncode(crypto::Md5Raw("part one"));
  std::string p2 = HexEncode(crypto::Md5Raw("part two"));
  auto etag = CompositeEtag({p1, p2});
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, HexEncode(crypto::Md5Raw(crypto::Md5Raw("part one") + crypto::Md5Raw("part two"))) + "-2");
  EXPECT_FALSE(CompositeEtag({"nothex"}).ok());
}

TEST(MultipartEtagTest, KnownValue) {
  // Two parts "a" and "b": md5(md5("a") || md5("b")).
  auto etag = CompositeEtag({"0cc175b9c0f1b6a831c399e269772661", "92eb5ffee6ae2fec3ad71c777531578f"});
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(etag->substr(etag->size() - 2), "-2");
  EXPECT_EQ(etag->size(), 34u);
}

TEST(MultipartEtagTest, CompositeChecksumAndUploadIds) {
  auto c = CompositeChecksum(crypto::ChecksumAlgorithm::kSha256, {Base64Encode(std::string(32, 'x'))});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->ends_with("-1"));
  std::string a = NewUploadId(1000), b = NewUploadId(2000);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_LT(a, b);  // initiation order
}

TEST(CorsTest, WildcardMatching) {
  EXPECT_TRUE(StarMatch("https://x.com", "*"));
  EXPECT_TRUE(StarMatch("https://a.example.com", "https://*.example.com"));
  EXPECT_FALSE(StarMatch("https://example.org", "https://*.example.com"));
  EXPECT_TRUE(StarMatch("X-Amz-Date", "x-amz-*", true));
  EXPECT_FALSE(StarMatch("X-Amz-Date", "x-amz-*"));
  EXPECT_FALSE(StarMatch("abcd", "abc"));
  EXPECT_TRUE(StarMatch("a-b-c", "a*b*c"));
  // A hostile origin pattern: many stars against a long origin that almost
  // matches. A matcher that tries every split would not finish.
  EXPECT_FALSE(StarMatch(std::string(20000, 'a'), "*a*a*a*a*a*a*a*a*a*a*a*a*b"));
}

TEST(CorsTest, ParseRenderAndMatch) {
  auto rules = ParseCorsConfiguration(
      "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>"
      "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader>"
      "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>"
      "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ(MatchCorsRule(*rules, "https://app.example.com", "PUT", {"content-type"}), &(*rules)[0]);
  EXPECT_EQ(MatchCorsRule(*rules, "https://other.com", "GET", {}), &(*rules)[1]);
  EXPECT_EQ(MatchCorsRule(*rules, "https://other.com", "GET", {"x-custom"}), nullptr);
  EXPECT_EQ(MatchCorsRule(*rules, "https://other.com", "DELETE", {}), nullptr);
  auto again = ParseCorsConfiguration(RenderCorsConfiguration(*rules));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].max_age_seconds, 600);

  EXPECT_EQ(ParseCorsConfiguration("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                                   "<AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>")
                .status()
                .subcode(),
            "InvalidRequest");
  EXPECT_EQ(ParseCorsConfiguration("<CORSConfiguration/>").status().subcode(), "MalformedXML");
  EXPECT_EQ(ParseCorsConfiguration("<oops").status().subcode(), "MalformedXML");
}

}  // namespace
}  // namespace annex::objectstore
