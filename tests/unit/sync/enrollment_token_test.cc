#include "sync/common/enrollment_token.h"

#include <gtest/gtest.h>

namespace annex::sync {
namespace {

const std::string kCa(64, 'a');

TEST(EnrollmentToken, RoundTrips) {
  auto t = NewEnrollmentToken("lisbon-1", kCa);
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::string text = EncodeToken(*t);
  EXPECT_EQ(text.rfind("AXT1.lisbon-1.", 0), 0u);
  auto parsed = ParseToken(text + "\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->site, "lisbon-1");
  EXPECT_EQ(parsed->secret, t->secret);
  EXPECT_EQ(parsed->ca_sha256, kCa);
}

TEST(EnrollmentToken, SecretsAreFreshAndStoredOnlyAsHashes) {
  auto a = NewEnrollmentToken("s", kCa);
  auto b = NewEnrollmentToken("s", kCa);
  EXPECT_NE(a->secret, b->secret);
  EXPECT_EQ(a->secret.size(), 43u);
  EXPECT_EQ(SecretHash(a->secret).size(), 64u);
  EXPECT_NE(SecretHash(a->secret), SecretHash(b->secret));
  EXPECT_EQ(SecretHash(a->secret).find(a->secret), std::string::npos);
}

TEST(EnrollmentToken, MalformedTokensAreRefused) {
  std::string good = EncodeToken(*NewEnrollmentToken("lisbon-1", kCa));
  std::string secret = good.substr(14, 43);
  for (const std::string& bad : {std::string(""), std::string("AXT1"), "AXT2.lisbon-1." + secret + "." + kCa,
                                 "AXT1.Lisbon." + secret + "." + kCa, "AXT1.lisbon-1." + secret + "x." + kCa,
                                 "AXT1.lisbon-1." + secret.substr(1) + "!." + kCa,
                                 "AXT1.lisbon-1." + secret + "." + kCa.substr(1),
                                 "AXT1.lisbon-1." + secret + "." + std::string(64, 'G'),
                                 "AXT1.lisbon-1." + secret + "." + kCa + ".extra"}) {
    auto parsed = ParseToken(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(NewEnrollmentToken("bad site", kCa).ok());
  EXPECT_FALSE(NewEnrollmentToken("ok", "not-a-hash").ok());
}

}  // namespace
}  // namespace annex::sync
