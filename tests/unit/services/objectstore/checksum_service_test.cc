// S3 checksum types through the service: CRC64NVME on PUT, CreateMultipartUpload's
// algorithm/type rules, full-object checksums combined from the parts' CRCs and
// verified on completion, and GetObjectAttributes.

#include <gtest/gtest.h>

#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "services/objectstore/multipart_etag.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore::testing {
namespace {

using crypto::ChecksumAlgorithm;

std::string Between(const std::string& s, const std::string& open, const std::string& close, size_t from = 0) {
  size_t a = s.find(open, from);
  if (a == std::string::npos) return "";
  a += open.size();
  return s.substr(a, s.find(close, a) - a);
}

std::string Sum(ChecksumAlgorithm alg, std::string_view data) {
  auto c = crypto::Checksummer::Create(alg);
  c->Update(data);
  return crypto::ChecksumBase64(*c);
}

class ChecksumServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(s3_.Send("PUT", "/bkt").status, 200); }

  TestResponse Create(const std::string& key, std::vector<std::pair<std::string, std::string>> headers) {
    return s3_.Send("POST", "/bkt/" + key + "?uploads", "", std::move(headers));
  }

  // Uploads `parts` to a new upload of `alg`/`type`; returns the upload id
  // and the completion body (with the parts' checksums when `name_sums`).
  std::pair<std::string, std::string> UploadAll(const std::string& key, ChecksumAlgorithm alg, const std::string& type,
                                                const std::vector<std::string>& parts, bool name_sums) {
    auto r = Create(key, {{"x-amz-checksum-algorithm", std::string(crypto::ChecksumAlgorithmName(alg))},
                          {"x-amz-checksum-type", type}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("x-amz-checksum-type"), type);
    std::string id = Between(r.body, "<UploadId>", "<");
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < parts.size(); ++i) {
      std::string sum = Sum(alg, parts[i]);
      r = s3_.Send("PUT", "/bkt/" + key + "?partNumber=" + std::to_string(i + 1) + "&uploadId=" + id, parts[i],
                   {{crypto::ChecksumHeaderName(alg), sum}});
      EXPECT_EQ(r.status, 200) << r.body;
      std::string element = "Checksum" + std::string(crypto::ChecksumAlgorithmName(alg));
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + r.Header("etag") + "</ETag>" +
              (name_sums ? "<" + element + ">" + sum + "</" + element + ">" : "") + "</Part>";
    }
    return {id, body + "</CompleteMultipartUpload>"};
  }

  TempDir dir_;
  S3Harness s3_{dir_.path()};
};

TEST_F(ChecksumServiceTest, PutWithCrc64NvmeIsAFullObjectChecksum) {
  std::string data = Payload(100000, 'q');
  std::string sum = Sum(ChecksumAlgorithm::kCrc64Nvme, data);
  auto r = s3_.Send("PUT", "/bkt/o", data, {{"x-amz-checksum-crc64nvme", sum}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-amz-checksum-crc64nvme"), sum);
  EXPECT_EQ(r.Header("x-amz-checksum-type"), "FULL_OBJECT");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/bad", data, {{"x-amz-checksum-crc64nvme", Sum(ChecksumAlgorithm::kCrc64Nvme, "x")}})
                .ErrorCode(),
            "BadDigest");
  auto head = s3_.Send("HEAD", "/bkt/o", "", {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(head.Header("x-amz-checksum-crc64nvme"), sum);
  EXPECT_EQ(head.Header("x-amz-checksum-type"), "FULL_OBJECT");
  auto list = s3_.Send("GET", "/bkt?list-type=2");
  EXPECT_EQ(Between(list.body, "<ChecksumAlgorithm>", "<"), "CRC64NVME");
  EXPECT_EQ(Between(list.body, "<ChecksumType>", "<"), "FULL_OBJECT");
}

TEST_F(ChecksumServiceTest, CreateMultipartUploadTypeRules) {
  auto r = Create("k", {{"x-amz-checksum-algorithm", "CRC64NVME"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-amz-checksum-type"), "FULL_OBJECT");  // CRC64NVME's only kind
  EXPECT_EQ(Create("k", {{"x-amz-checksum-algorithm", "CRC32"}}).Header("x-amz-checksum-type"), "COMPOSITE");
  for (auto [alg, type] : {std::pair{"CRC64NVME", "COMPOSITE"}, {"SHA1", "FULL_OBJECT"}, {"SHA256", "FULL_OBJECT"}}) {
    EXPECT_EQ(Create("k", {{"x-amz-checksum-algorithm", alg}, {"x-amz-checksum-type", type}}).ErrorCode(),
              "InvalidRequest")
        << alg << " " << type;
  }
  for (auto alg : {"CRC32", "CRC32C"}) {
    for (auto type : {"COMPOSITE", "FULL_OBJECT"}) {
      EXPECT_EQ(Create("k", {{"x-amz-checksum-algorithm", alg}, {"x-amz-checksum-type", type}}).status, 200);
    }
  }
  EXPECT_EQ(Create("k", {{"x-amz-checksum-type", "FULL_OBJECT"}}).ErrorCode(), "InvalidRequest");
  EXPECT_EQ(Create("k", {{"x-amz-checksum-algorithm", "CRC32"}, {"x-amz-checksum-type", "PARTIAL"}}).ErrorCode(),
            "InvalidRequest");
  auto uploads = s3_.Send("GET", "/bkt?uploads");
  EXPECT_NE(
      uploads.body.find("<ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>"),
      std::string::npos)
      << uploads.body;
}

// The object's CRC is combined from the parts' (no data is read) and equals
// the CRC of all its bytes; the client's value is checked against it.
TEST_F(ChecksumServiceTest, FullObjectChecksumCombinedAndVerified) {
  std::vector<std::string> parts = {Payload(5 << 20, 'a'), Payload(5 << 20, 'b'), Payload(777, 'c')};
  std::string whole = parts[0] + parts[1] + parts[2];
  for (auto alg : {ChecksumAlgorithm::kCrc64Nvme, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc32}) {
    std::string key = "full-" + ToLower(crypto::ChecksumAlgorithmName(alg));
    auto [id, body] = UploadAll(key, alg, "FULL_OBJECT", parts, /*name_sums=*/false);
    std::string header = crypto::ChecksumHeaderName(alg);
    std::string expected = Sum(alg, whole);
    auto r = s3_.Send("POST", "/bkt/" + key + "?uploadId=" + id, body, {{header, Sum(alg, "not the data")}});
    EXPECT_EQ(r.ErrorCode(), "BadDigest") << r.body;
    EXPECT_EQ(
        s3_.Send("POST", "/bkt/" + key + "?uploadId=" + id, body, {{"x-amz-checksum-type", "COMPOSITE"}}).ErrorCode(),
        "BadDigest");
    EXPECT_EQ(s3_.Send("POST", "/bkt/" + key + "?uploadId=" + id, body, {{"x-amz-mp-object-size", "5"}}).ErrorCode(),
              "InvalidRequest");
    r = s3_.Send("POST", "/bkt/" + key + "?uploadId=" + id, body,
                 {{header, expected},
                  {"x-amz-checksum-type", "FULL_OBJECT"},
                  {"x-amz-mp-object-size", std::to_string(whole.size())}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Between(r.body, "<Checksum" + std::string(crypto::ChecksumAlgorithmName(alg)) + ">", "<"), expected);
    EXPECT_EQ(Between(r.body, "<ChecksumType>", "<"), "FULL_OBJECT");
    auto head = s3_.Send("HEAD", "/bkt/" + key, "", {{"x-amz-checksum-mode", "ENABLED"}});
    EXPECT_EQ(head.Header(header), expected);
    EXPECT_EQ(head.Header("x-amz-checksum-type"), "FULL_OBJECT");
    // A part of a full-object upload has no checksum of its own.
    head = s3_.Send("HEAD", "/bkt/" + key + "?partNumber=2", "", {{"x-amz-checksum-mode", "ENABLED"}});
    EXPECT_EQ(head.Header(header), "");
  }
}

TEST_F(ChecksumServiceTest, FullObjectChecksumOfParts) {
  std::string a = Payload(1000, 'x'), b = Payload(3, 'y');
  auto value = FullObjectChecksum(ChecksumAlgorithm::kCrc64Nvme, {{Sum(ChecksumAlgorithm::kCrc64Nvme, a), a.size()},
                                                                  {Sum(ChecksumAlgorithm::kCrc64Nvme, b), b.size()}});
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, Sum(ChecksumAlgorithm::kCrc64Nvme, a + b));
  EXPECT_FALSE(FullObjectChecksum(ChecksumAlgorithm::kCrc64Nvme, {{Sum(ChecksumAlgorithm::kCrc32, a), 1}}).ok());
}

TEST_F(ChecksumServiceTest, GetObjectAttributes) {
  std::vector<std::string> parts = {Payload(5 << 20, '1'), Payload(5 << 20, '2'), Payload(5 << 20, '3'),
                                    Payload(10, '4')};
  auto [id, body] = UploadAll("mp", ChecksumAlgorithm::kCrc32, "COMPOSITE", parts, /*name_sums=*/true);
  auto done = s3_.Send("POST", "/bkt/mp?uploadId=" + id, body);
  ASSERT_EQ(done.status, 200) << done.body;
  std::string composite = Between(done.body, "<ChecksumCRC32>", "<");
  ASSERT_TRUE(composite.ends_with("-4"));

  auto r = s3_.Send("GET", "/bkt/mp?attributes", "",
                    {{"x-amz-object-attributes", "ETag,Checksum,ObjectParts,StorageClass,ObjectSize"},
                     {"x-amz-max-parts", "2"},
                     {"x-amz-part-number-marker", "1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.operation, "GetObjectAttributes");
  EXPECT_FALSE(r.Header("last-modified").empty());
  std::string quoted = Between(done.body, "<ETag>", "<");  // "…-4" (however the XML escapes the quotes)
  EXPECT_NE(quoted.find(Between(r.body, "<ETag>", "<")), std::string::npos);
  EXPECT_TRUE(Between(r.body, "<ETag>", "<").ends_with("-4"));  // unquoted, as S3 gives it here
  EXPECT_EQ(Between(r.body, "<ChecksumCRC32>", "<"), composite.substr(0, composite.size() - 2));
  EXPECT_EQ(Between(r.body, "<ChecksumType>", "<"), "COMPOSITE");
  EXPECT_EQ(Between(r.body, "<PartsCount>", "<"), "4");
  EXPECT_EQ(Between(r.body, "<PartNumberMarker>", "<"), "1");
  EXPECT_EQ(Between(r.body, "<NextPartNumberMarker>", "<"), "3");
  EXPECT_EQ(Between(r.body, "<IsTruncated>", "<"), "true");
  EXPECT_EQ(Between(r.body, "<Part><PartNumber>", "<"), "2");
  EXPECT_EQ(Between(r.body, "</ChecksumCRC32></Part><Part><PartNumber>", "<"), "3");
  EXPECT_NE(r.body.find("<ChecksumCRC32>" + Sum(ChecksumAlgorithm::kCrc32, parts[1]) + "</ChecksumCRC32>"),
            std::string::npos);
  EXPECT_EQ(Between(r.body, "<StorageClass>", "<"), "STANDARD");
  EXPECT_EQ(Between(r.body, "<ObjectSize>", "<"), std::to_string(15 * (1 << 20) + 10));

  r = s3_.Send("GET", "/bkt/mp?attributes", "",
               {{"x-amz-object-attributes", "ObjectParts"}, {"x-amz-part-number-marker", "3"}});
  EXPECT_EQ(Between(r.body, "<IsTruncated>", "<"), "false");
  EXPECT_EQ(Between(r.body, "<Part><PartNumber>", "<"), "4");
  EXPECT_EQ(r.body.find("<ETag>"), std::string::npos);

  // A single PUT: no ObjectParts; its checksum is a full-object one.
  ASSERT_EQ(s3_.Send("PUT", "/bkt/one", "hello world", {{"x-amz-checksum-crc32c", "yZRlqg=="}}).status, 200);
  r = s3_.Send("GET", "/bkt/one?attributes", "", {{"x-amz-object-attributes", "Checksum, ObjectParts"}});
  EXPECT_EQ(Between(r.body, "<ChecksumCRC32C>", "<"), "yZRlqg==");
  EXPECT_EQ(Between(r.body, "<ChecksumType>", "<"), "FULL_OBJECT");
  EXPECT_EQ(r.body.find("<ObjectParts>"), std::string::npos);

  EXPECT_EQ(s3_.Send("GET", "/bkt/one?attributes").ErrorCode(), "InvalidArgument");
  EXPECT_EQ(s3_.Send("GET", "/bkt/one?attributes", "", {{"x-amz-object-attributes", "Color"}}).ErrorCode(),
            "InvalidArgument");
  EXPECT_EQ(s3_.Send("GET", "/bkt/one?attributes", "", {{"x-amz-object-attributes", "ETag"}, {"x-amz-max-parts", "x"}})
                .ErrorCode(),
            "InvalidArgument");
  EXPECT_EQ(s3_.Send("GET", "/bkt/none?attributes", "", {{"x-amz-object-attributes", "ETag"}}).ErrorCode(),
            "NoSuchKey");
  EXPECT_EQ(s3_.Send("GET", "/bkt/one?attributes&versionId=null", "", {{"x-amz-object-attributes", "ETag"}}).status,
            200);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/one?attributes", "x").ErrorCode(), "NotImplemented");
}

}  // namespace
}  // namespace annex::objectstore::testing
