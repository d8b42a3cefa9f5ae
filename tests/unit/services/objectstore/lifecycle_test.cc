#include "services/objectstore/lifecycle_config.h"
#include "services/objectstore/lifecycle_cache.h"

#include <gtest/gtest.h>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"

#include "services/objectstore/lifecycle_runner.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/s3_call.h"
#include "services/objectstore/version_listing.h"
#include "services/objectstore/versions.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore {
namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1700000000000;  // 2023-11-14T22:13:20Z

std::string Config(std::string_view rules) {
  return "<LifecycleConfiguration>" + std::string(rules) + "</LifecycleConfiguration>";
}

std::string ErrorOf(std::string_view rules) {
  auto r = ParseLifecycleConfiguration(Config(rules));
  return r.ok() ? "ok" : r.status().subcode() + ": " + r.status().message();
}

TEST(LifecycleConfigTest, ChecksRulesAsS3Does) {
  EXPECT_EQ(ErrorOf("<Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>"
                    "<Expiration><Days>0</Days></Expiration></Rule>"),
            "InvalidArgument: 'Days' for Expiration action must be a positive integer");
  EXPECT_EQ(ErrorOf("<Rule><Status>Enabled</Status><Filter/></Rule>"),
            "InvalidRequest: At least one action needs to be specified in a rule");
  EXPECT_EQ(ErrorOf("<Rule><ID>x</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>"
                    "<Rule><ID>x</ID><Status>Enabled</Status><Filter/><Expiration><Days>2</Days></Expiration></Rule>"),
            "InvalidArgument: Rule ID must be unique. Found same ID for more than one rule");
  EXPECT_EQ(ErrorOf("<Rule><Status>Enabled</Status><Filter/><Expiration><Date>2030-01-01T12:00:00Z</Date>"
                    "</Expiration></Rule>"),
            "InvalidArgument: 'Date' must be at midnight GMT");
  EXPECT_EQ(ErrorOf("<Rule><Status>Enabled</Status><Filter/><Transition><Days>30</Days>"
                    "<StorageClass>GLACIER</StorageClass></Transition></Rule>").substr(0, 19),
            "InvalidStorageClass");
  EXPECT_EQ(ErrorOf("<Rule><Status>On</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>"),
            "MalformedXML: The XML you provided was not well-formed or did not validate against our published schema");
  EXPECT_EQ(ErrorOf("<Rule><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
                    "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>"),
            "InvalidRequest: ExpiredObjectDeleteMarker cannot be specified with Tag filter.");
}

// A filter S3's schema refuses must be refused here too: ignoring the part
// that does not fit would widen the rule, up to expiring every object.
TEST(LifecycleConfigTest, RefusesFiltersOutsideTheSchemaInsteadOfWideningThem) {
  const std::string malformed =
      "MalformedXML: The XML you provided was not well-formed or did not validate against our published schema";
  auto rule = [](std::string_view filter) {
    return "<Rule><ID>r</ID><Status>Enabled</Status>" + std::string(filter) +
           "<Expiration><Days>1</Days></Expiration></Rule>";
  };
  for (std::string_view filter : {
           "<Filter><Prefx>logs/</Prefx></Filter>",                         // misspelt
           "<Filter><And><And><Prefix>logs/</Prefix></And></And></Filter>",  // nested And
           "<Filter><And/></Filter>",                                       // And with no condition
           "<Filter><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>",  // two without And
           "<Filter><Prefix>a/</Prefix><Prefix>b/</Prefix></Filter>",
           "<Filter><And><Prefix>a/</Prefix><Prefix>b/</Prefix></And></Filter>",
           "<Filter><Tag><Key>k</Key><Value>v</Value><Colour>red</Colour></Tag></Filter>",
           "<Filter><Prefix>a/</Prefix></Filter><Filter><Prefix>b/</Prefix></Filter>",
       }) {
    EXPECT_EQ(ErrorOf(rule(filter)), malformed) << filter;
  }
  EXPECT_EQ(ErrorOf("<Rule><Status>Enabled</Status><Filter/><Expiration><Days>1</Days><Weeks>1</Weeks></Expiration>"
                    "</Rule>"),
            malformed);
  EXPECT_EQ(ErrorOf("<Rule><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration>"
                    "<Expiration><Days>2</Days></Expiration></Rule>"),
            malformed);
  EXPECT_EQ(ErrorOf("<Rules/><Rule><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>"),
            malformed);
  // What S3 accepts still parses: an empty filter, one condition, several inside And, whitespace between elements.
  for (std::string_view filter : {
           "<Filter/>", "<Filter></Filter>", "<Filter><Prefix></Prefix></Filter>",
           "<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>",
           "<Filter>\n  <And>\n    <Prefix>a/</Prefix>\n    <Tag><Key>k</Key><Value>v</Value></Tag>\n"
           "    <Tag><Key>j</Key><Value>w</Value></Tag>\n  </And>\n</Filter>",
       }) {
    EXPECT_EQ(ErrorOf(rule(filter)), "ok") << filter;
  }
}

TEST(LifecycleConfigTest, RendersWhatWasStoredAndRoundTrips) {
  auto c = ParseLifecycleConfiguration(Config(
      "<Rule><ID>r1</ID><Status>Enabled</Status><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value>"
      "</Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Expiration><Days>3</Days></Expiration>"
      "<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>1"
      "</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto again = ParseLifecycleConfiguration(RenderLifecycleConfiguration(*c));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  const LifecycleRule& r = again->rules[0];
  EXPECT_EQ(r.id, "r1");
  EXPECT_EQ(r.filter.prefix, "a/");
  EXPECT_EQ(r.filter.tags, (TagSet{{"k", "v"}}));
  EXPECT_EQ(r.filter.size_greater_than, 10u);
  EXPECT_EQ(r.expiration_days, 3);
  EXPECT_EQ(r.noncurrent_days, 2);
  EXPECT_EQ(r.newer_noncurrent_versions, 1);
}

TEST(LifecycleConfigTest, ExpiryRoundsUpToMidnightUtcAndFiltersSelect) {
  auto c = ParseLifecycleConfiguration(Config(
      "<Rule><ID>logs</ID><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix><Tag><Key>t</Key>"
      "<Value>1</Value></Tag></And></Filter><Expiration><Days>3</Days></Expiration></Rule>"));
  ASSERT_TRUE(c.ok());
  ObjectRecord o;
  o.key = "logs/x";
  o.modified_ms = kT0;
  o.tags = {{"t", "1"}};
  std::optional<int64_t> at = CurrentExpiry(c->rules[0], o);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(*at % kDay, 0);
  EXPECT_GT(*at, kT0 + 3 * kDay);
  EXPECT_LE(*at, kT0 + 4 * kDay);
  EXPECT_EQ(ExpirationHeader(*c, o), "expiry-date=\"" + HttpDate(*at) + "\", rule-id=\"logs\"");
  o.tags.clear();
  EXPECT_FALSE(CurrentExpiry(c->rules[0], o)) << "the tag is missing";
  o.tags = {{"t", "1"}};
  o.key = "other/x";
  EXPECT_FALSE(CurrentExpiry(c->rules[0], o)) << "another prefix";
}

std::string ExpireAfter(std::string_view id, int days) {
  return Config("<Rule><ID>" + std::string(id) +
                "</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter>"
                "<Expiration><Days>" +
                std::to_string(days) + "</Days></Expiration></Rule>");
}

TEST(LifecycleCacheTest, ParsesEachStoredConfigurationOnce) {
  LifecycleCache cache;
  BucketRecord b;
  EXPECT_EQ(cache.For(b), nullptr) << "no configuration";
  b.lifecycle = RenderLifecycleConfiguration(*ParseLifecycleConfiguration(ExpireAfter("logs", 3)));
  std::shared_ptr<const LifecycleConfiguration> first = cache.For(b);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->rules[0].id, "logs");
  EXPECT_EQ(cache.For(b), first) << "parsed once";
  BucketRecord replaced = b;
  replaced.lifecycle = RenderLifecycleConfiguration(*ParseLifecycleConfiguration(ExpireAfter("tmp", 1)));
  ASSERT_NE(cache.For(replaced), nullptr);
  EXPECT_EQ(cache.For(replaced)->rules[0].id, "tmp") << "another text, another entry";
  EXPECT_EQ(cache.For(b), first);
  cache.Forget(b.lifecycle);
  std::shared_ptr<const LifecycleConfiguration> again = cache.For(b);
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again, first) << "parsed anew once forgotten";
  EXPECT_EQ(again->rules[0].id, "logs");
  BucketRecord broken;
  broken.lifecycle = "<LifecycleConfiguration><Rule>";
  EXPECT_EQ(cache.For(broken), nullptr);
  EXPECT_EQ(cache.For(broken), nullptr);
}

// x-amz-expiration follows the configuration as it is replaced, removed and
// stored again in a bucket of the same name.
TEST(LifecycleServiceTest, ExpirationHeaderFollowsTheStoredConfiguration) {
  annex::testing::TempDir dir;
  testing::S3Harness s3(dir.path());
  // With its Content-MD5, as S3 requires of PutBucketLifecycleConfiguration.
  auto put_rules = [&](const std::string& rules) {
    return s3.Send("PUT", "/bkt?lifecycle", rules, {{"content-md5", Base64Encode(crypto::Md5Raw(rules))}}).status;
  };
  auto rule_of = [&](const std::string& target) {
    const std::string h = s3.Send("HEAD", target).Header("x-amz-expiration");  // a copy: the response goes
    size_t at = h.find("rule-id=");
    return at == std::string::npos ? std::string("none") : h.substr(at);
  };
  ASSERT_EQ(s3.Send("PUT", "/bkt").status, 200);
  ASSERT_EQ(put_rules(ExpireAfter("a", 1)), 200);
  auto put = s3.Send("PUT", "/bkt/k", "x");
  EXPECT_NE(put.Header("x-amz-expiration").find("rule-id=\"a\""), std::string::npos) << put.Header("x-amz-expiration");
  EXPECT_EQ(rule_of("/bkt/k"), "rule-id=\"a\"");
  ASSERT_EQ(put_rules(ExpireAfter("b", 2)), 200);
  EXPECT_EQ(rule_of("/bkt/k"), "rule-id=\"b\"");
  ASSERT_EQ(s3.Send("DELETE", "/bkt?lifecycle").status, 204);
  EXPECT_EQ(rule_of("/bkt/k"), "none");
  EXPECT_EQ(s3.Send("PUT", "/bkt/k", "y").Header("x-amz-expiration"), "");
  ASSERT_EQ(put_rules(ExpireAfter("a", 1)), 200);
  EXPECT_EQ(rule_of("/bkt/k"), "rule-id=\"a\"");
  ASSERT_EQ(s3.Send("DELETE", "/bkt/k").status, 204);
  ASSERT_EQ(s3.Send("DELETE", "/bkt").status, 204);
  ASSERT_EQ(s3.Send("PUT", "/bkt").status, 200);
  ASSERT_EQ(s3.Send("PUT", "/bkt/k", "z").status, 200);
  EXPECT_EQ(rule_of("/bkt/k"), "none") << "a new bucket of the same name has no rules";
}

// The runner against a real store: versions written as S3 writes them.
class LifecycleRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ObjectStoreOptions options;
    options.data_dir = dir_.path();
    auto s = ObjectStore::Open(options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  void Bucket(Versioning v, std::string_view rules) {
    auto c = ParseLifecycleConfiguration(Config(rules));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    BucketRecord b;
    b.owner_id = "111111111111";
    b.versioning = v;
    b.lifecycle = RenderLifecycleConfiguration(*c);
    versioning_ = v;
    ASSERT_TRUE(store_->meta()
                    .CommitBlocking([&](store::WriteTxn& txn, StatsDelta&) {
                      return PutBucket(txn, store_->meta().tables(), "bkt", b);
                    })
                    .ok());
  }

  void Write(std::string_view key, int64_t at_ms, bool marker = false, uint64_t size = 1, ObjectLockState lock = {}) {
    ObjectRecord r;
    r.key = std::string(key);
    r.lock = lock;
    r.modified_ms = at_ms;
    r.delete_marker = marker;
    if (!marker) {
      r.inline_data.assign(size, 'x');
      r.size = size;
    }
    std::vector<std::string> freed;
    Status s = store_->meta().CommitBlocking([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
      const Tables& t = store_->meta().tables();
      ObjectRecord current;
      ANNEX_ASSIGN_OR_RETURN(bool has, LoadCurrentVersion(txn, t, "bkt", key, current, false));
      return PutCurrentVersion(txn, t, delta, "bkt", versioning_, r, has ? &current : nullptr,
                               static_cast<uint64_t>(at_ms) * 1000000, freed);
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // key + "=M" for markers, "=<size>" for versions, newest first.
  std::vector<std::string> Versions() {
    auto txn = store_->meta().BeginRead();
    auto page = ListVersionsPage(*txn, store_->meta().tables(), "bkt", {});
    EXPECT_TRUE(page.ok());
    std::vector<std::string> out;
    for (const auto& v : page->versions) {
      out.push_back(v.record.key + "=" + (v.record.delete_marker ? "M" : std::to_string(v.record.size)));
    }
    return out;
  }

  LifecycleRunStats Run(int64_t now) {
    auto stats = RunLifecycle(*store_, now);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return *stats;
  }

  annex::testing::TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
  Versioning versioning_ = Versioning::kOff;
};

TEST_F(LifecycleRunTest, ExpiresByDaysPrefixAndSizeInAnUnversionedBucket) {
  Bucket(Versioning::kOff,
         "<Rule><ID>logs</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>"
         "<Expiration><Days>1</Days></Expiration></Rule>"
         "<Rule><ID>big</ID><Status>Enabled</Status><Filter><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan>"
         "</Filter><Expiration><Days>2</Days></Expiration></Rule>"
         "<Rule><ID>off</ID><Status>Disabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>");
  Write("logs/a", kT0);
  Write("keep/b", kT0);
  Write("keep/big", kT0, false, 200);
  EXPECT_EQ(Run(kT0 + kDay / 2).expired, 0u) << "not yet a day";
  LifecycleRunStats s = Run(CeilToMidnightUtc(kT0 + kDay));
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"keep/b=1", "keep/big=200"}));
  Run(CeilToMidnightUtc(kT0 + 2 * kDay));
  EXPECT_EQ(Versions(), (std::vector<std::string>{"keep/b=1"}));
  EXPECT_EQ(store_->meta().object_count(), 1u);
}

TEST_F(LifecycleRunTest, LockedVersionsOutliveTheRulesUntilTheirLockEnds) {
  Bucket(Versioning::kEnabled,
         "<Rule><ID>old</ID><Status>Enabled</Status><Filter/><NoncurrentVersionExpiration>"
         "<NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>");
  Write("held", kT0, false, 1, ObjectLockState{LockMode::kNone, 0, true});
  Write("held", kT0 + 1, false, 2);
  Write("kept", kT0, false, 1, ObjectLockState{LockMode::kCompliance, kT0 + 10 * kDay, false});
  Write("kept", kT0 + 1, false, 2);
  Write("free", kT0, false, 1);
  Write("free", kT0 + 1, false, 2);
  int64_t day2 = CeilToMidnightUtc(kT0 + 2 * kDay);
  EXPECT_EQ(Run(day2).noncurrent_removed, 1u);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"free=2", "held=2", "held=1", "kept=2", "kept=1"}));
  Run(CeilToMidnightUtc(kT0 + 11 * kDay));  // the retention has ended; the legal hold has not
  EXPECT_EQ(Versions(), (std::vector<std::string>{"free=2", "held=2", "held=1", "kept=2"}));
}

TEST_F(LifecycleRunTest, VersionedBucketsGetMarkersThenLoseNoncurrentVersionsThenLoneMarkers) {
  Bucket(Versioning::kEnabled,
         "<Rule><ID>cur</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter>"
         "<Expiration><Days>1</Days></Expiration></Rule>"
         "<Rule><ID>old</ID><Status>Enabled</Status><Filter><Prefix>doc</Prefix></Filter><NoncurrentVersionExpiration>"
         "<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions>"
         "</NoncurrentVersionExpiration></Rule>"
         "<Rule><ID>tmp-old</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter>"
         "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
         "<Rule><ID>markers</ID><Status>Enabled</Status><Filter/><Expiration><ExpiredObjectDeleteMarker>true"
         "</ExpiredObjectDeleteMarker></Expiration></Rule>");
  Write("doc", kT0, false, 1);
  Write("doc", kT0 + 1, false, 2);
  Write("doc", kT0 + 2, false, 3);  // 2 and 1 are noncurrent; 1 keeps one newer noncurrent version
  Write("tmp/x", kT0);
  int64_t day1 = CeilToMidnightUtc(kT0 + kDay);
  LifecycleRunStats s = Run(day1);
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.noncurrent_removed, 1u);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"doc=3", "doc=2", "tmp/x=M", "tmp/x=1"}));
  // tmp/x became noncurrent at day1: gone a day later; then its marker stands alone and goes next.
  Run(day1 + kDay);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"doc=3", "doc=2", "tmp/x=M"}));
  s = Run(day1 + kDay + 1);
  EXPECT_EQ(s.delete_markers_removed, 1u);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"doc=3", "doc=2"}));
}

}  // namespace
}  // namespace annex::objectstore
