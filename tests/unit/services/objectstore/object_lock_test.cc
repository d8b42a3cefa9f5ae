#include "services/objectstore/object_lock.h"

#include <gtest/gtest.h>

#include "appliance/http/api_error.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore {
namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kNow = 1700000000000;  // the harness's clock: 2023-11-14T22:13:20Z

std::string CodeOf(const Status& s) { return s.ok() ? "ok" : http::ApiErrorFromStatus(s).code; }

ObjectLockState Retained(LockMode mode, int64_t until) { return {mode, until, false}; }

TEST(ObjectLockRulesTest, ComplianceCanOnlyBeExtended) {
  ObjectLockState c = Retained(LockMode::kCompliance, kNow + 10 * kDay);
  for (bool bypass : {false, true}) {
    EXPECT_EQ(CodeOf(CheckRetentionChange(c, Retained(LockMode::kCompliance, kNow + 11 * kDay), kNow, bypass)), "ok");
    EXPECT_EQ(CodeOf(CheckRetentionChange(c, Retained(LockMode::kCompliance, kNow + 10 * kDay), kNow, bypass)), "ok");
    EXPECT_EQ(CodeOf(CheckRetentionChange(c, Retained(LockMode::kCompliance, kNow + 9 * kDay), kNow, bypass)),
              "AccessDenied");
    EXPECT_EQ(CodeOf(CheckRetentionChange(c, Retained(LockMode::kGovernance, kNow + 20 * kDay), kNow, bypass)),
              "AccessDenied");
    EXPECT_EQ(CodeOf(CheckRetentionChange(c, ObjectLockState{}, kNow, bypass)), "AccessDenied");
    EXPECT_EQ(CodeOf(CheckVersionDeletable(c, kNow, bypass)), "AccessDenied");
  }
  // Once the date has passed, anything goes.
  EXPECT_EQ(CodeOf(CheckRetentionChange(c, ObjectLockState{}, kNow + 10 * kDay, false)), "ok");
  EXPECT_EQ(CodeOf(CheckVersionDeletable(c, kNow + 10 * kDay, false)), "ok");
}

TEST(ObjectLockRulesTest, GovernanceGivesWayOnlyToTheBypass) {
  ObjectLockState g = Retained(LockMode::kGovernance, kNow + 10 * kDay);
  EXPECT_EQ(CodeOf(CheckRetentionChange(g, Retained(LockMode::kGovernance, kNow + 11 * kDay), kNow, false)), "ok");
  EXPECT_EQ(CodeOf(CheckRetentionChange(g, Retained(LockMode::kCompliance, kNow + 10 * kDay), kNow, false)), "ok");
  EXPECT_EQ(CodeOf(CheckRetentionChange(g, Retained(LockMode::kGovernance, kNow + kDay), kNow, false)), "AccessDenied");
  EXPECT_EQ(CodeOf(CheckRetentionChange(g, ObjectLockState{}, kNow, false)), "AccessDenied");
  EXPECT_EQ(CodeOf(CheckRetentionChange(g, Retained(LockMode::kGovernance, kNow + kDay), kNow, true)), "ok");
  EXPECT_EQ(CodeOf(CheckRetentionChange(g, ObjectLockState{}, kNow, true)), "ok");
  EXPECT_EQ(CodeOf(CheckVersionDeletable(g, kNow, false)), "AccessDenied");
  EXPECT_EQ(CodeOf(CheckVersionDeletable(g, kNow, true)), "ok");
}

TEST(ObjectLockRulesTest, LegalHoldStopsEveryDeleteUntilReleased) {
  ObjectLockState held;
  held.legal_hold = true;
  EXPECT_TRUE(IsLocked(held, kNow));
  EXPECT_EQ(CodeOf(CheckVersionDeletable(held, kNow, true)), "AccessDenied");
  held.mode = LockMode::kGovernance;
  held.retain_until_ms = kNow - 1;  // an expired retention does not release the hold
  EXPECT_EQ(CodeOf(CheckVersionDeletable(held, kNow, true)), "AccessDenied");
  held.legal_hold = false;
  EXPECT_FALSE(IsLocked(held, kNow));
  EXPECT_EQ(CodeOf(CheckVersionDeletable(held, kNow, false)), "ok");
}

TEST(ObjectLockRulesTest, DefaultRetentionAppliesToVersionsWithoutTheirOwn) {
  BucketObjectLock config{true, LockMode::kCompliance, 0, 2};
  ObjectLockState plain;
  ApplyDefaultRetention(config, kNow, plain);
  EXPECT_EQ(plain.mode, LockMode::kCompliance);
  EXPECT_EQ(plain.retain_until_ms, kNow + 730 * kDay);
  ObjectLockState own = Retained(LockMode::kGovernance, kNow + kDay);
  ApplyDefaultRetention(config, kNow, own);
  EXPECT_EQ(own.mode, LockMode::kGovernance);
  EXPECT_EQ(own.retain_until_ms, kNow + kDay);
  ObjectLockState none;
  ApplyDefaultRetention(BucketObjectLock{true, LockMode::kNone, 0, 0}, kNow, none);
  EXPECT_EQ(none.mode, LockMode::kNone);
}

TEST(ObjectLockRulesTest, ParsesConfigurationsAsS3Does) {
  auto days = ParseObjectLockConfiguration(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
      "<Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule></ObjectLockConfiguration>");
  ASSERT_TRUE(days.ok()) << days.status().ToString();
  EXPECT_EQ(days->default_mode, LockMode::kGovernance);
  EXPECT_EQ(days->default_days, 3u);
  auto again = ParseObjectLockConfiguration(RenderObjectLockConfiguration(*days));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->default_days, 3u);
  auto bare = ParseObjectLockConfiguration(
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->default_mode, LockMode::kNone);
  auto code = [](std::string_view inner) {
    return CodeOf(
        ParseObjectLockConfiguration("<ObjectLockConfiguration>" + std::string(inner) + "</ObjectLockConfiguration>")
            .status());
  };
  EXPECT_EQ(code("<ObjectLockEnabled>Disabled</ObjectLockEnabled>"), "MalformedXML");
  EXPECT_EQ(code("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode>"
                 "<Days>1</Days><Years>1</Years></DefaultRetention></Rule>"),
            "MalformedXML");
  EXPECT_EQ(code("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>WORM</Mode>"
                 "<Days>1</Days></DefaultRetention></Rule>"),
            "MalformedXML");
  EXPECT_EQ(code("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode>"
                 "<Days>0</Days></DefaultRetention></Rule>"),
            "InvalidArgument");
}

TEST(ObjectLockRulesTest, RetentionDocumentsAndHeaders) {
  auto r = ParseRetention(
      "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z"
      "</RetainUntilDate></Retention>",
      kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->mode, LockMode::kCompliance);
  EXPECT_EQ(r->retain_until_ms, 1893456000000);
  EXPECT_NE(RenderRetention(*r).find("<RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate>"), std::string::npos);
  EXPECT_EQ(CodeOf(ParseRetention("<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2020-01-01T00:00:00Z"
                                  "</RetainUntilDate></Retention>",
                                  kNow)
                       .status()),
            "InvalidArgument");
  auto removal = ParseRetention("<Retention/>", kNow);
  ASSERT_TRUE(removal.ok());
  EXPECT_EQ(removal->mode, LockMode::kNone);
  EXPECT_EQ(CodeOf(ParseLegalHold("<LegalHold><Status>MAYBE</Status></LegalHold>").status()), "MalformedXML");

  http::Headers h;
  h.Set("x-amz-object-lock-mode", "GOVERNANCE");
  EXPECT_EQ(CodeOf(ParseObjectLockHeaders(h, kNow).status()), "InvalidArgument");  // no date
  h.Set("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z");
  h.Set("x-amz-object-lock-legal-hold", "ON");
  auto parsed = ParseObjectLockHeaders(h, kNow);
  ASSERT_TRUE(parsed.ok() && parsed->has_value());
  EXPECT_EQ((*parsed)->mode, LockMode::kGovernance);
  EXPECT_TRUE((*parsed)->legal_hold);
  h.Set("x-amz-object-lock-legal-hold", "yes");
  EXPECT_EQ(CodeOf(ParseObjectLockHeaders(h, kNow).status()), "InvalidArgument");
  EXPECT_FALSE(ParseObjectLockHeaders(http::Headers(), kNow)->has_value());
}

TEST(ObjectLockRulesTest, RecordsKeepTheLockAndReadOlderVersions) {
  ObjectRecord o;
  o.key = "k";
  o.lock = {LockMode::kGovernance, kNow, true};
  auto decoded = DecodeObject(EncodeObject(o));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->lock.mode, LockMode::kGovernance);
  EXPECT_EQ(decoded->lock.retain_until_ms, kNow);
  EXPECT_TRUE(decoded->lock.legal_hold);
  BucketRecord b;
  b.object_lock = {true, LockMode::kCompliance, 7, 0};
  auto bucket = DecodeBucket(EncodeBucket(b));
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  EXPECT_TRUE(bucket->object_lock.enabled);
  EXPECT_EQ(bucket->object_lock.default_days, 7u);
}

// The whole path through the service: S3's answers and the store's refusals.
class ObjectLockServiceTest : public ::testing::Test {
 protected:
  std::string PutVersion(const std::string& key, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = s3_.SendWithMd5("PUT", "/locked/" + key, "data", std::move(headers));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Header("x-amz-version-id");
  }
  std::string Retention(std::string_view mode, std::string_view date) {
    return "<Retention><Mode>" + std::string(mode) + "</Mode><RetainUntilDate>" + std::string(date) +
           "</RetainUntilDate></Retention>";
  }

  annex::testing::TempDir dir_;
  testing::S3Harness s3_{dir_.path()};
};

TEST_F(ObjectLockServiceTest, LockedVersionsSurviveEveryDeleteUntilTheyExpire) {
  ASSERT_EQ(s3_.Send("PUT", "/locked", "", {{"x-amz-bucket-object-lock-enabled", "true"}}).status, 200);
  EXPECT_NE(s3_.Send("GET", "/locked?versioning").body.find("<Status>Enabled</Status>"), std::string::npos);
  EXPECT_EQ(s3_.Send("PUT", "/locked?versioning",
                     "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>")
                .ErrorCode(),
            "InvalidBucketState");
  ASSERT_EQ(s3_.SendWithMd5("PUT", "/locked?object-lock",
                     "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                     "<DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days></DefaultRetention></Rule>"
                     "</ObjectLockConfiguration>")
                .status,
            200);
  std::string v1 = PutVersion("k");
  auto head = s3_.Send("HEAD", "/locked/k");
  EXPECT_EQ(head.Header("x-amz-object-lock-mode"), "COMPLIANCE");
  EXPECT_EQ(head.Header("x-amz-object-lock-retain-until-date"), "2023-11-15T22:13:20.000Z");
  auto denied = s3_.Send("DELETE", "/locked/k?versionId=" + v1, "", {{"x-amz-bypass-governance-retention", "true"}});
  EXPECT_EQ(denied.ErrorCode(), "AccessDenied");
  EXPECT_NE(denied.body.find("protected by object lock"), std::string::npos);
  EXPECT_EQ(s3_.SendWithMd5("PUT", "/locked/k?retention&versionId=" + v1, Retention("COMPLIANCE", "2023-11-15T00:00:00Z"))
                .ErrorCode(),
            "AccessDenied");
  // A delete without an id only adds a marker.
  EXPECT_EQ(s3_.Send("DELETE", "/locked/k").Header("x-amz-delete-marker"), "true");
  // A GOVERNANCE version: bypass header needed.
  std::string v2 = PutVersion(
      "g", {{"x-amz-object-lock-mode", "GOVERNANCE"}, {"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"}});
  EXPECT_EQ(s3_.Send("DELETE", "/locked/g?versionId=" + v2).ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("DELETE", "/locked/g?versionId=" + v2, "", {{"x-amz-bypass-governance-retention", "true"}}).status,
            204);
  // Legal hold: DeleteObjects reports the entry, not the request.
  std::string v3 = PutVersion("h");
  ASSERT_EQ(
      s3_.SendWithMd5("PUT", "/locked/h?legal-hold&versionId=" + v3, "<LegalHold><Status>ON</Status></LegalHold>").status,
      200);
  EXPECT_NE(s3_.Send("GET", "/locked/h?legal-hold&versionId=" + v3).body.find("<Status>ON</Status>"),
            std::string::npos);
  auto multi = s3_.SendWithMd5("POST", "/locked?delete",
                        "<Delete><Object><Key>h</Key><VersionId>" + v3 + "</VersionId></Object></Delete>");
  EXPECT_EQ(multi.status, 200);
  EXPECT_NE(multi.body.find("<Code>AccessDenied</Code>"), std::string::npos) << multi.body;
  // A day later the default retention has run out, and the deletes go through.
  s3_.clock().Advance(std::chrono::hours(25));
  EXPECT_EQ(s3_.Send("DELETE", "/locked/k?versionId=" + v1).status, 204);
  EXPECT_EQ(s3_.Send("DELETE", "/locked/h?versionId=" + v3).ErrorCode(), "AccessDenied");  // still held
}

TEST_F(ObjectLockServiceTest, NeitherS3NorTheOperatorDeletesABucketHoldingLockedVersions) {
  ASSERT_EQ(s3_.Send("PUT", "/locked", "", {{"x-amz-bucket-object-lock-enabled", "true"}}).status, 200);
  std::string v = PutVersion("k", {{"x-amz-object-lock-legal-hold", "ON"}});
  ASSERT_EQ(s3_.Send("DELETE", "/locked/k").Header("x-amz-delete-marker"), "true");
  EXPECT_EQ(s3_.Send("DELETE", "/locked").ErrorCode(), "BucketNotEmpty");
  EXPECT_FALSE(s3_.control().DeleteBucket("locked").ok());
  // No DELETE names a lock: they must not fall through to the bucket's or the object's delete.
  EXPECT_EQ(s3_.Send("DELETE", "/locked?object-lock").status, 405);
  EXPECT_EQ(s3_.Send("DELETE", "/locked/k?legal-hold&versionId=" + v).status, 405);
  EXPECT_EQ(s3_.Send("DELETE", "/locked/k?retention").status, 405);
  EXPECT_EQ(s3_.Send("GET", "/locked/k?versionId=" + v).body, "data");
}

TEST_F(ObjectLockServiceTest, BucketsWithoutObjectLockSayWhatIsMissing) {
  ASSERT_EQ(s3_.Send("PUT", "/plain").status, 200);
  EXPECT_EQ(s3_.Send("GET", "/plain?object-lock").ErrorCode(), "ObjectLockConfigurationNotFoundError");
  ASSERT_EQ(s3_.Send("PUT", "/plain/k", "x").status, 200);
  EXPECT_EQ(s3_.Send("GET", "/plain/k?retention").ErrorCode(), "InvalidRequest");
  auto refused = s3_.SendWithMd5("PUT", "/plain/k", "x", {{"x-amz-object-lock-legal-hold", "ON"}});
  EXPECT_EQ(refused.ErrorCode(), "InvalidRequest");
  EXPECT_NE(refused.body.find("Bucket is missing Object Lock Configuration"), std::string::npos) << refused.body;
  const std::string enable =
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>";
  EXPECT_EQ(s3_.SendWithMd5("PUT", "/plain?object-lock", enable).ErrorCode(), "InvalidBucketState");
  ASSERT_EQ(s3_.Send("PUT", "/plain?versioning",
                     "<VersioningConfiguration><Status>Enabled</Status>"
                     "</VersioningConfiguration>")
                .status,
            200);
  EXPECT_EQ(s3_.SendWithMd5("PUT", "/plain?object-lock", enable).status, 200);
  EXPECT_NE(s3_.Send("GET", "/plain?object-lock").body.find("<ObjectLockEnabled>Enabled"), std::string::npos);
  EXPECT_EQ(s3_.Send("GET", "/plain/k?retention").ErrorCode(), "NoSuchObjectLockConfiguration");
  EXPECT_EQ(s3_.Send("GET", "/plain/k?legal-hold").ErrorCode(), "NoSuchObjectLockConfiguration");
  ASSERT_EQ(s3_.SendWithMd5("PUT", "/plain/k?legal-hold", "<LegalHold><Status>OFF</Status></LegalHold>").status, 200);
  EXPECT_NE(s3_.Send("GET", "/plain/k?legal-hold").body.find("<Status>OFF</Status>"), std::string::npos);
  EXPECT_EQ(s3_.Send("HEAD", "/plain/k").Header("x-amz-object-lock-legal-hold"), "OFF");
}

// S3 requires Content-MD5 or a checksum of the lock operations' bodies and
// of a PutObject's that sends lock headers; an x-amz-content-sha256 is not one.
TEST_F(ObjectLockServiceTest, LockRequestsNeedContentMd5OrAChecksum) {
  ASSERT_EQ(s3_.Send("PUT", "/locked", "", {{"x-amz-bucket-object-lock-enabled", "true"}}).status, 200);
  PutVersion("k");
  const std::string hold = "<LegalHold><Status>ON</Status></LegalHold>";
  auto missing = s3_.Send("PUT", "/locked/k?legal-hold", hold);
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("Missing required header for this request: Content-MD5"), std::string::npos);
  EXPECT_EQ(s3_.Send("PUT", "/locked/k?retention", Retention("GOVERNANCE", "2030-01-01T00:00:00Z")).ErrorCode(),
            "InvalidRequest");
  EXPECT_EQ(s3_.Send("PUT", "/locked/k?legal-hold", hold, {{"x-amz-sdk-checksum-algorithm", "CRC32"}}).status, 200);
  EXPECT_EQ(s3_.Send("PUT", "/locked/k?legal-hold", hold, {{"x-amz-checksum-crc32", "AAAAAA=="}}).ErrorCode(),
            "BadDigest");
  auto put = s3_.Send("PUT", "/locked/p", "data", {{"x-amz-object-lock-legal-hold", "ON"}});
  EXPECT_EQ(put.ErrorCode(), "InvalidRequest");
  EXPECT_NE(put.body.find("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with "
                          "Object Lock parameters"),
            std::string::npos);
  EXPECT_EQ(s3_.Send("PUT", "/locked/p", "data", {{"x-amz-object-lock-legal-hold", "ON"},
                                                 {"x-amz-checksum-sha256", "Om6weQ85rIfJTzhWst0sXREOaBFgImGpqSPTuyOtyLc="}})
                .status,
            200);
}

// GET/HEAD show a version's retention only to callers holding
// s3:GetObjectRetention and its legal hold only with s3:GetObjectLegalHold;
// lacking them hides the headers and never fails the read.
TEST_F(ObjectLockServiceTest, LockHeadersNeedTheirOwnReadPermissions) {
  ASSERT_EQ(s3_.Send("PUT", "/locked", "", {{"x-amz-bucket-object-lock-enabled", "true"}}).status, 200);
  PutVersion("k", {{"x-amz-object-lock-mode", "GOVERNANCE"},
                   {"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"},
                   {"x-amz-object-lock-legal-hold", "ON"}});
  auto shown = [&](const std::string& method) {
    testing::TestResponse r = s3_.Send(method, "/locked/k");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Header("x-amz-object-lock-mode") + "|" + r.Header("x-amz-object-lock-retain-until-date") + "|" +
           r.Header("x-amz-object-lock-legal-hold");
  };
  EXPECT_EQ(shown("HEAD"), "GOVERNANCE|2030-01-01T00:00:00.000Z|ON");  // the account's root
  const std::string policy_head = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*","Action":[)";
  auto allow = [&](const std::string& actions) {
    s3_.authorizer().SetUserPolicy("111111111111", "reader", policy_head + actions + "]}]}");
    s3_.ActAsUser("111111111111", "reader");
  };
  allow(R"("s3:GetObject")");
  EXPECT_EQ(shown("HEAD"), "||");
  EXPECT_EQ(shown("GET"), "||");
  allow(R"("s3:GetObject","s3:GetObjectRetention")");
  EXPECT_EQ(shown("GET"), "GOVERNANCE|2030-01-01T00:00:00.000Z|");
  allow(R"("s3:GetObject","s3:GetObjectLegalHold")");
  EXPECT_EQ(shown("HEAD"), "||ON");
}

}  // namespace
}  // namespace annex::objectstore
