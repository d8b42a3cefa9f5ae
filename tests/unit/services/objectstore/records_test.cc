#include "services/objectstore/records.h"
#include "services/objectstore/acl.h"

#include <gtest/gtest.h>

#include "appliance/store/record.h"

namespace annex::objectstore {
namespace {

ObjectRecord SampleObject() {
  ObjectRecord o;
  o.key = "photos/2024/ünïcödé.jpg";
  o.size = 11;
  o.modified_ms = 1700000000123;
  o.etag = "5eb63bbbe01eeed093cb22bb8f5acdc3";
  o.owner_id = "111111111111";
  o.owner_name = "alice";
  o.acl = CannedAclGrants("public-read", o.owner_id);
  o.website_redirect = "/elsewhere.html";
  o.meta.content_type = "image/jpeg";
  o.meta.cache_control = "max-age=60";
  o.meta.user = {{"color", "blue"}, {"empty", ""}};
  o.checksum_algorithm = "CRC32";
  o.checksum_value = "DUoRhQ==";
  o.inline_data = "hello world";
  return o;
}

TEST(RecordsTest, ObjectRoundTrip) {
  ObjectRecord o = SampleObject();
  auto back = DecodeObject(EncodeObject(o));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->key, o.key);
  EXPECT_EQ(back->size, 11u);
  EXPECT_EQ(back->modified_ms, o.modified_ms);
  EXPECT_EQ(back->etag, o.etag);
  EXPECT_EQ(back->acl, o.acl);
  EXPECT_EQ(back->website_redirect, "/elsewhere.html");
  EXPECT_EQ(back->meta.content_type, "image/jpeg");
  EXPECT_EQ(back->meta.cache_control, "max-age=60");
  EXPECT_EQ(back->meta.user, o.meta.user);
  EXPECT_EQ(back->checksum_value, "DUoRhQ==");
  EXPECT_EQ(back->inline_data, "hello world");
  EXPECT_TRUE(back->is_inline());
}

TEST(RecordsTest, ObjectVersionFieldsAndTagsRoundTrip) {
  ObjectRecord o = SampleObject();
  o.version_id = "00000000000000010123456789abcdef";
  o.version_seq = 1;
  o.tags = {{"project", "annex"}, {"empty", ""}};
  o.noncurrent_null = {NullVersionHint::Kind::kAt, 0x1234};
  auto back = DecodeObject(EncodeObject(o));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version_id, o.version_id);
  EXPECT_EQ(back->version_seq, 1u);
  EXPECT_FALSE(back->delete_marker);
  EXPECT_EQ(back->tags, o.tags);
  EXPECT_EQ(back->noncurrent_null.kind, NullVersionHint::Kind::kAt);
  EXPECT_EQ(back->noncurrent_null.seq, 0x1234u);
  ObjectRecord marker;
  marker.key = "gone";
  marker.delete_marker = true;
  back = DecodeObject(EncodeObject(marker));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->delete_marker);
}

// Objects stored before versioning (record version 1) read as their null
// version, ordered by their modification time.
TEST(RecordsTest, DecodesVersionOneObjectsAsNullVersions) {
  store::RecordWriter w(1);
  w.Bytes("k").U64(2).I64(1700000000123).Bytes("etag").Bytes("111111111111").Bytes("alice").U64(0);
  for (int i = 0; i < 6; ++i) w.Bytes("");
  w.U64(0);                            // user metadata
  w.Bytes("").Bytes("").U64(0).U64(0);  // checksum, parts, segments
  w.Bytes("hi");
  auto back = DecodeObject(std::move(w).Finish());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->inline_data, "hi");
  EXPECT_EQ(back->version_id, "");
  EXPECT_EQ(back->version_seq, uint64_t{1700000000123} * 1000000);
  EXPECT_TRUE(back->tags.empty());
  EXPECT_EQ(back->noncurrent_null.kind, NullVersionHint::Kind::kUnknown);
}

TEST(RecordsTest, SegmentedObjectRoundTripWithoutData) {
  ObjectRecord o = SampleObject();
  o.inline_data.clear();
  o.size = 30;
  o.parts_count = 2;
  o.segments = {{"0123456789abcdef0123456789abcdef", 10, "AAAA"}, {"fedcba9876543210fedcba9876543210", 20, ""}};
  auto back = DecodeObject(EncodeObject(o), /*with_data=*/false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->segments.size(), 2u);
  EXPECT_EQ(back->segments[1].file_id, "fedcba9876543210fedcba9876543210");
  EXPECT_EQ(back->segments[1].size, 20u);
  EXPECT_EQ(back->segments[0].checksum, "AAAA");
  EXPECT_EQ(back->parts_count, 2u);
}

TEST(RecordsTest, DetectsTruncationAndTrailingBytes) {
  std::string encoded = EncodeObject(SampleObject());
  for (size_t len = 0; len < encoded.size(); ++len) {
    auto r = DecodeObject(encoded.substr(0, len));
    EXPECT_FALSE(r.ok()) << "prefix of length " << len << " decoded";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    }
  }
  EXPECT_EQ(DecodeObject(encoded + "x").status().code(), StatusCode::kCorruption);
}

TEST(RecordsTest, DetectsSizeMismatchAndUnknownVersion) {
  ObjectRecord o = SampleObject();
  o.size = 12;  // inline data is 11 bytes
  EXPECT_EQ(DecodeObject(EncodeObject(o)).status().code(), StatusCode::kCorruption);
  std::string encoded = EncodeObject(SampleObject());
  encoded[0] = 99;
  EXPECT_EQ(DecodeObject(encoded).status().code(), StatusCode::kCorruption);
}

TEST(RecordsTest, BucketRoundTripWithPolicyAndPublicAccessBlock) {
  BucketRecord b;
  b.owner_id = "111111111111";
  b.policy = R"({"Version":"2012-10-17","Statement":[]})";
  b.policy_id = 0x1234567890abcdefULL;
  b.public_access_block = PublicAccessBlock{true, false, true, false};
  auto back = DecodeBucket(EncodeBucket(b));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->policy, b.policy);
  EXPECT_EQ(back->policy_id, b.policy_id);
  EXPECT_EQ(back->public_access_block, b.public_access_block);
  b.public_access_block.reset();
  EXPECT_FALSE(DecodeBucket(EncodeBucket(b))->public_access_block.has_value());
}

// Buckets stored before policies existed (record version 1) still read, with none.
TEST(RecordsTest, DecodesVersionOneBuckets) {
  store::RecordWriter w(1);
  w.Bytes("111111111111").Bytes("alice").I64(42).Bytes("us-east-1").U64(1).U64(0);
  auto back = DecodeBucket(std::move(w).Finish());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->owner_name, "alice");
  EXPECT_EQ(back->acl, CannedAclGrants("public-read", "111111111111"));
  // Buckets from before ownership controls keep their ACLs (no controls: ObjectWriter).
  EXPECT_FALSE(back->ownership.has_value());
  EXPECT_TRUE(AclsEnabled(*back));
  EXPECT_FALSE(back->has_policy());
  EXPECT_FALSE(back->public_access_block.has_value());
  EXPECT_EQ(back->versioning, Versioning::kOff);
}

TEST(RecordsTest, BucketVersioningAndTagsRoundTrip) {
  BucketRecord b;
  b.owner_id = "111111111111";
  b.versioning = Versioning::kSuspended;
  b.tags = {{"cost-center", "42"}};
  auto back = DecodeBucket(EncodeBucket(b));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->versioning, Versioning::kSuspended);
  EXPECT_EQ(back->tags, b.tags);
}

TEST(RecordsTest, BucketRoundTripWithCors) {
  BucketRecord b;
  b.owner_id = "222222222222";
  b.owner_name = "bob";
  b.created_ms = 42;
  b.region = "eu-west-1";
  b.acl = CannedAclGrants("log-delivery-write", b.owner_id);
  b.ownership = ObjectOwnership::kBucketOwnerPreferred;
  b.website = "<WebsiteConfiguration/>";
  CorsRule rule;
  rule.id = "r1";
  rule.allowed_origins = {"https://*.example.com"};
  rule.allowed_methods = {"GET", "PUT"};
  rule.allowed_headers = {"*"};
  rule.expose_headers = {"ETag"};
  rule.max_age_seconds = 3000;
  b.cors = {rule};
  auto back = DecodeBucket(EncodeBucket(b));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->owner_name, "bob");
  EXPECT_EQ(back->region, "eu-west-1");
  EXPECT_EQ(back->acl, b.acl);
  EXPECT_EQ(back->ownership, ObjectOwnership::kBucketOwnerPreferred);
  EXPECT_EQ(back->website, b.website);
  ASSERT_EQ(back->cors.size(), 1u);
  EXPECT_EQ(back->cors[0].allowed_methods, rule.allowed_methods);
  EXPECT_EQ(back->cors[0].max_age_seconds, 3000);
  std::string enc = EncodeBucket(b);
  EXPECT_FALSE(DecodeBucket(enc.substr(0, enc.size() - 1)).ok());
}

TEST(RecordsTest, UploadAndPartRoundTrip) {
  UploadRecord u;
  u.key = "big.bin";
  u.upload_id = std::string(32, 'a');
  u.initiated_ms = 7;
  u.checksum_algorithm = "SHA256";
  u.meta.content_type = "text/plain";
  auto ub = DecodeUpload(EncodeUpload(u));
  ASSERT_TRUE(ub.ok());
  EXPECT_EQ(ub->upload_id, u.upload_id);
  EXPECT_EQ(ub->checksum_algorithm, "SHA256");
  EXPECT_EQ(ub->checksum_type, "");
  u.checksum_algorithm = "CRC64NVME";
  u.checksum_type = "FULL_OBJECT";
  u.website_redirect = "/moved.html";
  ub = DecodeUpload(EncodeUpload(u));
  ASSERT_TRUE(ub.ok());
  EXPECT_EQ(ub->checksum_type, "FULL_OBJECT");
  EXPECT_EQ(ub->website_redirect, "/moved.html");

  PartRecord p{17, 5 << 20, "d41d8cd98f00b204e9800998ecf8427e", 9, std::string(32, 'b'), "xyz="};
  auto pb = DecodePart(EncodePart(p));
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(pb->number, 17u);
  EXPECT_EQ(pb->size, uint64_t{5} << 20);
  EXPECT_EQ(pb->file_id, p.file_id);
  PartRecord bad = p;
  bad.number = 0;
  EXPECT_FALSE(DecodePart(EncodePart(bad)).ok());
}

// Uploads written before the checksum type existed (version 1) read back as
// COMPOSITE when they have an algorithm, the only kind there was.
TEST(RecordsTest, UploadVersion1DecodesAsComposite) {
  auto v1 = [](std::string_view algorithm) {
    store::RecordWriter w(1);
    w.Bytes("k").Bytes(std::string(32, 'a')).I64(7).Bytes("acct").Bytes("alice").U64(0);
    for (int i = 0; i < 6; ++i) w.Bytes("");
    w.U64(0).Bytes(algorithm);
    return std::move(w).Finish();
  };
  auto with = DecodeUpload(v1("CRC32"));
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->checksum_algorithm, "CRC32");
  EXPECT_EQ(with->checksum_type, "COMPOSITE");
  auto without = DecodeUpload(v1(""));
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->checksum_type, "");
  std::string v5 = EncodeUpload(UploadRecord{});
  v5[0] = 5;
  EXPECT_FALSE(DecodeUpload(v5).ok());
}

// Uploads stored before the website redirect was kept (version 3) still
// read, with none.
TEST(RecordsTest, UploadVersion3DecodesWithoutRedirect) {
  UploadRecord u;
  u.key = "k";
  u.upload_id = std::string(32, 'a');
  u.website_redirect = "/gone.html";
  std::string v4 = EncodeUpload(u);
  // Version 3 is version 4 without its last field (one length-prefixed string).
  std::string v3 = v4.substr(0, v4.size() - 1 - u.website_redirect.size());
  v3[0] = 3;
  auto back = DecodeUpload(v3);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->key, "k");
  EXPECT_EQ(back->website_redirect, "");
  EXPECT_FALSE(DecodeUpload(v4.substr(0, v4.size() - 1)).ok());
}

TEST(RecordsTest, PartKeysSortByNumber) {
  std::string id(32, 'c');
  EXPECT_LT(EncodePartKey(id, 2), EncodePartKey(id, 10));
  EXPECT_LT(EncodePartKey(id, 255), EncodePartKey(id, 256));
  EXPECT_LT(EncodePartKey(id, 9999), EncodePartKey(id, 10000));
}

}  // namespace
}  // namespace annex::objectstore
