// ListObjects V1/V2 rendering and multipart uploads through the service.

#include <gtest/gtest.h>

#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/crypto/hash.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore::testing {
namespace {

std::string Between(const std::string& s, const std::string& open, const std::string& close, size_t from = 0) {
  size_t a = s.find(open, from);
  if (a == std::string::npos) return "";
  a += open.size();
  return s.substr(a, s.find(close, a) - a);
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + 1)) ++n;
  return n;
}

class ListServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(s3_.Send("PUT", "/bkt").status, 200);
    for (std::string k : {"a/1", "a/2", "b/1", "c", "d e+f", "\xc3\xa9t\xc3\xa9"}) {
      ASSERT_EQ(s3_.Send("PUT", "/bkt/" + UriEncode(k, true), "x").status, 200);
    }
  }
  TempDir dir_;
  S3Harness s3_{dir_.path()};
};

TEST_F(ListServiceTest, V2WithDelimiterAndPages) {
  auto r = s3_.Send("GET", "/bkt?list-type=2&delimiter=%2F&max-keys=2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.operation, "ListObjectsV2");
  EXPECT_EQ(Between(r.body, "<KeyCount>", "<"), "2");
  EXPECT_EQ(Between(r.body, "<IsTruncated>", "<"), "true");
  EXPECT_EQ(Count(r.body, "<CommonPrefixes>"), 2u);
  std::string token = Between(r.body, "<NextContinuationToken>", "<");
  ASSERT_FALSE(token.empty());
  r = s3_.Send("GET", "/bkt?list-type=2&delimiter=%2F&max-keys=2&continuation-token=" + UriEncode(token, false));
  EXPECT_EQ(Between(r.body, "<ContinuationToken>", "<"), token);
  EXPECT_NE(r.body.find("<Key>c</Key>"), std::string::npos);
  EXPECT_NE(r.body.find("<Key>d e+f</Key>"), std::string::npos);
  token = Between(r.body, "<NextContinuationToken>", "<");
  r = s3_.Send("GET", "/bkt?list-type=2&delimiter=%2F&max-keys=2&continuation-token=" + UriEncode(token, false));
  EXPECT_EQ(Between(r.body, "<IsTruncated>", "<"), "false");
  EXPECT_EQ(Between(r.body, "<KeyCount>", "<"), "1");
  EXPECT_EQ(r.body.find("<Owner>"), std::string::npos);  // V2 without fetch-owner
  EXPECT_EQ(s3_.Send("GET", "/bkt?list-type=2&continuation-token=bogus").ErrorCode(), "InvalidArgument");
}

TEST_F(ListServiceTest, V2StartAfterFetchOwnerAndUrlEncoding) {
  auto r = s3_.Send("GET", "/bkt?list-type=2&start-after=c&fetch-owner=true&encoding-type=url");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("<Key>c</Key>"), std::string::npos);
  EXPECT_NE(r.body.find("<Key>d%20e%2Bf</Key>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<Key>%C3%A9t%C3%A9</Key>"), std::string::npos);
  EXPECT_NE(r.body.find("<EncodingType>url</EncodingType>"), std::string::npos);
  EXPECT_NE(r.body.find("<Owner><ID>"), std::string::npos);
  EXPECT_NE(r.body.find("<StorageClass>STANDARD</StorageClass>"), std::string::npos);
  EXPECT_NE(r.body.find("<ETag>\""), std::string::npos);
  EXPECT_EQ(s3_.Send("GET", "/bkt?list-type=2&encoding-type=base64").ErrorCode(), "InvalidArgument");
  EXPECT_EQ(s3_.Send("GET", "/bkt?list-type=2&max-keys=lots").ErrorCode(), "InvalidArgument");
}

TEST_F(ListServiceTest, V1MarkerAndNextMarker) {
  auto r = s3_.Send("GET", "/bkt?delimiter=/&max-keys=1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.operation, "ListObjects");
  EXPECT_EQ(Between(r.body, "<NextMarker>", "<"), "a/");
  r = s3_.Send("GET", "/bkt?delimiter=/&max-keys=1&marker=a/");
  EXPECT_EQ(Between(r.body, "<Prefix>", "<", r.body.find("<CommonPrefixes>")), "b/");
  r = s3_.Send("GET", "/bkt?marker=c");
  EXPECT_EQ(Count(r.body, "<Contents>"), 2u);
  EXPECT_NE(r.body.find("<Owner>"), std::string::npos);  // V1 always lists owners
  EXPECT_EQ(r.body.find("<NextMarker>"), std::string::npos);
  r = s3_.Send("GET", "/bkt?prefix=a/");
  EXPECT_EQ(Count(r.body, "<Contents>"), 2u);
  EXPECT_EQ(s3_.Send("GET", "/nobkt?prefix=a/").ErrorCode(), "NoSuchBucket");
}

class MultipartServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(s3_.Send("PUT", "/bkt").status, 200); }

  std::string Create(const std::string& key, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = s3_.Send("POST", "/bkt/" + key + "?uploads", "", std::move(headers));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.operation, "CreateMultipartUpload");
    return Between(r.body, "<UploadId>", "<");
  }

  std::string Upload(const std::string& key, const std::string& id, int part, const std::string& data) {
    auto r = s3_.Send("PUT", "/bkt/" + key + "?partNumber=" + std::to_string(part) + "&uploadId=" + id, data);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Header("etag");
  }

  static std::string CompleteBody(const std::vector<std::pair<int, std::string>>& parts) {
    std::string body = "<CompleteMultipartUpload>";
    for (const auto& [n, etag] : parts) {
      body += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
    }
    return body + "</CompleteMultipartUpload>";
  }

  TempDir dir_;
  S3Harness s3_{dir_.path()};
};

TEST_F(MultipartServiceTest, UploadCompleteAndRead) {
  const size_t kPart = 5 << 20;
  std::string p1 = Payload(kPart, '1'), p2 = Payload(kPart, '2'), p3 = Payload(1234, '3');
  std::string id = Create("big.bin", {{"content-type", "video/mp4"}, {"x-amz-meta-k", "v"}});
  ASSERT_EQ(id.size(), 32u);
  std::string e1 = Upload("big.bin", id, 1, p1);
  std::string e3 = Upload("big.bin", id, 3, p3);
  std::string e2 = Upload("big.bin", id, 2, Payload(100, 'x'));
  e2 = Upload("big.bin", id, 2, p2);  // re-upload replaces the part
  EXPECT_EQ(e1, "\"" + HexEncode(crypto::Md5Raw(p1)) + "\"");
  auto r = s3_.Send("POST", "/bkt/big.bin?uploadId=" + id, CompleteBody({{1, e1}, {2, e2}, {3, e3}}));
  ASSERT_EQ(r.status, 200) << r.body;
  std::string expected_etag =
      HexEncode(crypto::Md5Raw(crypto::Md5Raw(p1) + crypto::Md5Raw(p2) + crypto::Md5Raw(p3))) + "-3";
  EXPECT_EQ(Between(r.body, "<ETag>", "<"), "\"" + expected_etag + "\"");
  EXPECT_EQ(Between(r.body, "<Location>", "<"), "http://127.0.0.1:4566/bkt/big.bin");

  auto get = s3_.Send("GET", "/bkt/big.bin");
  ASSERT_EQ(get.status, 200);
  EXPECT_TRUE(get.body == p1 + p2 + p3);
  EXPECT_EQ(get.Header("etag"), "\"" + expected_etag + "\"");
  EXPECT_EQ(get.Header("content-type"), "video/mp4");
  EXPECT_EQ(get.Header("x-amz-meta-k"), "v");
  EXPECT_EQ(get.Header("x-amz-mp-parts-count"), "");  // only for partNumber requests
  // Ranges across part boundaries.
  auto ranged = s3_.Send("GET", "/bkt/big.bin", "", {{"range", "bytes=5242870-10485770"}});
  EXPECT_EQ(ranged.status, 206);
  EXPECT_TRUE(ranged.body == (p1 + p2 + p3).substr(5242870, 10485770 - 5242870 + 1));
  auto part = s3_.Send("GET", "/bkt/big.bin?partNumber=2");
  EXPECT_EQ(part.status, 206);
  EXPECT_TRUE(part.body == p2);
  EXPECT_EQ(part.Header("content-range"), "bytes 5242880-10485759/10486994");
  EXPECT_EQ(part.Header("x-amz-mp-parts-count"), "3");
  EXPECT_EQ(s3_.Send("GET", "/bkt/big.bin?partNumber=4").status, 416);
  // Completion moved no data: exactly the three part files remain.
  EXPECT_EQ(ListFilesRecursive(s3_.data_dir() + "/data").size(), 3u);
  EXPECT_EQ(s3_.Send("GET", "/bkt/big.bin?uploadId=" + id).ErrorCode(), "NoSuchUpload");
  // Overwriting the object releases the part files.
  s3_.Send("PUT", "/bkt/big.bin", "small");
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
}

TEST_F(MultipartServiceTest, CompleteValidation) {
  std::string id = Create("v");
  std::string small = Upload("v", id, 1, "tiny");
  std::string e2 = Upload("v", id, 2, "also tiny");
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, CompleteBody({{2, e2}, {1, small}})).ErrorCode(),
            "InvalidPartOrder");
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, CompleteBody({{1, small}, {2, "\"bad\""}})).ErrorCode(),
            "InvalidPart");
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, CompleteBody({{1, small}, {5, e2}})).ErrorCode(), "InvalidPart");
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, CompleteBody({{1, small}, {2, e2}})).ErrorCode(),
            "EntityTooSmall");
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, "<CompleteMultipartUpload/>").ErrorCode(), "MalformedXML");
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, "garbage").ErrorCode(), "MalformedXML");
  // A single small part is fine (the last part may be any size); part 2 is dropped.
  auto r = s3_.Send("POST", "/bkt/v?uploadId=" + id, CompleteBody({{1, small}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s3_.Send("GET", "/bkt/v").body, "tiny");
  EXPECT_EQ(ListFilesRecursive(s3_.data_dir() + "/data").size(), 1u);
  EXPECT_EQ(s3_.Send("POST", "/bkt/v?uploadId=" + id, CompleteBody({{1, small}})).ErrorCode(), "NoSuchUpload");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/v?partNumber=0&uploadId=" + id, "x").ErrorCode(), "InvalidArgument");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/v?partNumber=10001&uploadId=" + id, "x").ErrorCode(), "InvalidArgument");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/v?partNumber=1&uploadId=nope", "x").ErrorCode(), "NoSuchUpload");
}

TEST_F(MultipartServiceTest, AbortAndListings) {
  std::string id1 = Create("dir/a");
  s3_.clock().Advance(std::chrono::seconds(1));
  std::string id2 = Create("dir/a");
  std::string id3 = Create("b");
  Upload("dir/a", id1, 1, "one");
  Upload("dir/a", id1, 2, "two");
  auto r = s3_.Send("GET", "/bkt?uploads");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Count(r.body, "<Upload>"), 3u);
  EXPECT_LT(r.body.find("<Key>b</Key>"), r.body.find("<Key>dir/a</Key>"));
  EXPECT_LT(r.body.find(id1), r.body.find(id2));
  r = s3_.Send("GET", "/bkt?uploads&delimiter=/");
  EXPECT_EQ(Count(r.body, "<Upload>"), 1u);
  EXPECT_NE(r.body.find("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>"), std::string::npos);
  r = s3_.Send("GET", "/bkt?uploads&max-uploads=2");
  EXPECT_EQ(Between(r.body, "<IsTruncated>", "<"), "true");
  EXPECT_EQ(Between(r.body, "<NextKeyMarker>", "<"), "dir/a");
  EXPECT_EQ(Between(r.body, "<NextUploadIdMarker>", "<"), id1);
  r = s3_.Send("GET", "/bkt?uploads&key-marker=dir/a&upload-id-marker=" + id1);
  EXPECT_EQ(Count(r.body, "<Upload>"), 1u);
  EXPECT_NE(r.body.find(id2), std::string::npos);

  r = s3_.Send("GET", "/bkt/dir/a?uploadId=" + id1 + "&max-parts=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Count(r.body, "<Part>"), 1u);
  EXPECT_EQ(Between(r.body, "<IsTruncated>", "<"), "true");
  EXPECT_EQ(Between(r.body, "<NextPartNumberMarker>", "<"), "1");
  r = s3_.Send("GET", "/bkt/dir/a?uploadId=" + id1 + "&part-number-marker=1");
  EXPECT_EQ(Between(r.body, "<PartNumber>", "<"), "2");
  EXPECT_EQ(Between(r.body, "<Size>", "<"), "3");

  EXPECT_EQ(s3_.Send("DELETE", "/bkt/dir/a?uploadId=" + id1).status, 204);
  EXPECT_EQ(s3_.Send("DELETE", "/bkt/dir/a?uploadId=" + id1).ErrorCode(), "NoSuchUpload");
  EXPECT_EQ(s3_.Send("GET", "/bkt/dir/a?uploadId=" + id1).ErrorCode(), "NoSuchUpload");
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
  EXPECT_EQ(Count(s3_.Send("GET", "/bkt?uploads").body, "<Upload>"), 2u);
  (void)id3;
}

TEST_F(MultipartServiceTest, UploadPartCopyWithRange) {
  std::string src = Payload(6 << 20, 's');
  ASSERT_EQ(s3_.Send("PUT", "/bkt/src", src).status, 200);
  std::string id = Create("dst");
  auto r = s3_.Send("PUT", "/bkt/dst?partNumber=1&uploadId=" + id, "",
                    {{"x-amz-copy-source", "bkt/src"}, {"x-amz-copy-source-range", "bytes=0-5242879"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.operation, "UploadPartCopy");
  EXPECT_NE(r.body.find("<CopyPartResult"), std::string::npos);
  std::string e1 = Between(r.body, "<ETag>", "<");
  r = s3_.Send("PUT", "/bkt/dst?partNumber=2&uploadId=" + id, "",
               {{"x-amz-copy-source", "bkt/src"}, {"x-amz-copy-source-range", "bytes=5242880-6291455"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string e2 = Between(r.body, "<ETag>", "<");
  r = s3_.Send("PUT", "/bkt/dst?partNumber=3&uploadId=" + id, "",
               {{"x-amz-copy-source", "bkt/src"}, {"x-amz-copy-source-range", "bytes=0-99999999"}});
  EXPECT_EQ(r.ErrorCode(), "InvalidRange");
  r = s3_.Send("POST", "/bkt/dst?uploadId=" + id, CompleteBody({{1, e1}, {2, e2}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(s3_.Send("GET", "/bkt/dst").body == src);
}

TEST_F(MultipartServiceTest, ChecksumsOnParts) {
  std::string id = Create("ck", {{"x-amz-checksum-algorithm", "SHA256"}});
  std::string p1 = Payload(5 << 20, 'c'), p2 = "tail";
  auto c1 = crypto::Checksummer::Create(crypto::ChecksumAlgorithm::kSha256);
  c1->Update(p1);
  std::string v1 = crypto::ChecksumBase64(*c1);
  auto r = s3_.Send("PUT", "/bkt/ck?partNumber=1&uploadId=" + id, p1, {{"x-amz-checksum-sha256", v1}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-amz-checksum-sha256"), v1);
  std::string e1 = r.Header("etag");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/ck?partNumber=2&uploadId=" + id, p2, {{"x-amz-checksum-sha256", v1}}).ErrorCode(),
            "BadDigest");
  // A composite upload's parts each carry the client's checksum, of the upload's algorithm.
  EXPECT_EQ(s3_.Send("PUT", "/bkt/ck?partNumber=2&uploadId=" + id, p2).ErrorCode(), "InvalidRequest");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/ck?partNumber=2&uploadId=" + id, p2, {{"x-amz-checksum-crc32", "AAAAAA=="}})
                .ErrorCode(),
            "InvalidRequest");
  auto c2 = crypto::Checksummer::Create(crypto::ChecksumAlgorithm::kSha256);
  c2->Update(p2);
  std::string v2 = crypto::ChecksumBase64(*c2);
  r = s3_.Send("PUT", "/bkt/ck?partNumber=2&uploadId=" + id, p2, {{"x-amz-checksum-sha256", v2}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string e2 = r.Header("etag");
  // ... and the completion names each part's.
  EXPECT_EQ(s3_.Send("POST", "/bkt/ck?uploadId=" + id, CompleteBody({{1, e1}, {2, e2}})).ErrorCode(), "InvalidRequest");
  auto with_sums = [&](const std::string& second) {
    return "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + e1 + "</ETag><ChecksumSHA256>" + v1 +
           "</ChecksumSHA256></Part><Part><PartNumber>2</PartNumber><ETag>" + e2 + "</ETag><ChecksumSHA256>" +
           second + "</ChecksumSHA256></Part></CompleteMultipartUpload>";
  };
  EXPECT_EQ(s3_.Send("POST", "/bkt/ck?uploadId=" + id, with_sums(v1)).ErrorCode(), "InvalidPart");
  r = s3_.Send("POST", "/bkt/ck?uploadId=" + id, with_sums(v2));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Between(r.body, "<ChecksumType>", "<"), "COMPOSITE");
  std::string composite = Between(r.body, "<ChecksumSHA256>", "<");
  EXPECT_TRUE(composite.ends_with("-2")) << r.body;
  auto head = s3_.Send("HEAD", "/bkt/ck", "", {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(head.Header("x-amz-checksum-sha256"), composite);
  EXPECT_EQ(head.Header("x-amz-checksum-type"), "COMPOSITE");
  head = s3_.Send("HEAD", "/bkt/ck?partNumber=1", "", {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(head.Header("x-amz-checksum-sha256"), v1);
}

}  // namespace
}  // namespace annex::objectstore::testing
