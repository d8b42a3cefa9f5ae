// PutObject / GetObject / HeadObject / DeleteObject(s) / CopyObject through
// the service.

#include <gtest/gtest.h>

#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/crypto/hash.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore::testing {
namespace {

std::string Md5Etag(std::string_view data) { return "\"" + HexEncode(crypto::Md5Raw(data)) + "\""; }

std::string Checksum(crypto::ChecksumAlgorithm alg, std::string_view data) {
  auto c = crypto::Checksummer::Create(alg);
  c->Update(data);
  return crypto::ChecksumBase64(*c);
}

class ObjectServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(s3_.Send("PUT", "/bkt").status, 200); }
  TempDir dir_;
  S3Harness s3_{dir_.path()};  // inline threshold 1 KiB
};

TEST_F(ObjectServiceTest, PutGetSmallAndLarge) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{1024}, size_t{1025}, size_t{3 << 20}}) {
    std::string data = Payload(size);
    auto put = s3_.Send("PUT", "/bkt/obj", data);
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.Header("etag"), Md5Etag(data));
    auto get = s3_.Send("GET", "/bkt/obj");
    ASSERT_EQ(get.status, 200);
    EXPECT_EQ(get.body.size(), size);
    EXPECT_TRUE(get.body == data) << "size " << size;
    EXPECT_EQ(get.Header("content-length"), std::to_string(size));
    EXPECT_EQ(get.Header("etag"), Md5Etag(data));
    EXPECT_EQ(get.Header("content-type"), "binary/octet-stream");
    EXPECT_EQ(get.Header("accept-ranges"), "bytes");
    EXPECT_EQ(get.Header("last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
  }
  // Only the last (large) version remains on disk; small ones never had a file.
  auto files = ListFilesRecursive(s3_.data_dir() + "/data");
  EXPECT_EQ(files.size(), 1u);
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/tmp").empty());
}

TEST_F(ObjectServiceTest, KeysAreOpaqueText) {
  for (std::string key : {"../../etc/passwd", "a/../b", "üñí/çødé 😀", "with space", "a+b", "q?x"}) {
    std::string target = "/bkt/" + UriEncode(key, true);
    ASSERT_EQ(s3_.Send("PUT", target, key).status, 200) << key;
    EXPECT_EQ(s3_.Send("GET", target).body, key);
  }
  EXPECT_EQ(s3_.Send("PUT", "/bkt/" + std::string(1025, 'k'), "x").ErrorCode(), "KeyTooLongError");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/" + std::string(1024, 'k'), "x").status, 200);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/a%00b", "x").ErrorCode(), "InvalidArgument");
  // Nothing escaped the store's directory.
  for (const auto& f : ListFilesRecursive(dir_.path())) EXPECT_EQ(f.rfind("objectstore/", 0), 0u) << f;
}

TEST_F(ObjectServiceTest, MetadataRoundTrip) {
  auto put = s3_.Send("PUT", "/bkt/meta", "body",
                      {{"content-type", "text/plain"},
                       {"content-encoding", "aws-chunked,gzip"},
                       {"content-disposition", "attachment; filename=\"a.txt\""},
                       {"content-language", "en"},
                       {"cache-control", "max-age=10"},
                       {"expires", "Wed, 21 Oct 2015 07:28:00 GMT"},
                       {"x-amz-meta-Color", "Blue"},
                       {"x-amz-meta-empty", ""}});
  ASSERT_EQ(put.status, 200);
  auto head = s3_.Send("HEAD", "/bkt/meta");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.Header("content-length"), "4");
  EXPECT_EQ(head.Header("content-type"), "text/plain");
  EXPECT_EQ(head.Header("content-encoding"), "gzip");
  EXPECT_EQ(head.Header("content-disposition"), "attachment; filename=\"a.txt\"");
  EXPECT_EQ(head.Header("content-language"), "en");
  EXPECT_EQ(head.Header("cache-control"), "max-age=10");
  EXPECT_EQ(head.Header("expires"), "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(head.Header("x-amz-meta-color"), "Blue");
  EXPECT_TRUE(head.headers.Has("x-amz-meta-empty"));

  auto get = s3_.Send("GET", "/bkt/meta?response-content-type=application/json&response-cache-control=no-cache");
  EXPECT_EQ(get.Header("content-type"), "application/json");
  EXPECT_EQ(get.Header("cache-control"), "no-cache");

  std::string big(2100, 'v');
  EXPECT_EQ(s3_.Send("PUT", "/bkt/toolarge", "x", {{"x-amz-meta-big", big}}).ErrorCode(), "MetadataTooLarge");
}

TEST_F(ObjectServiceTest, Ranges) {
  std::string data = Payload(5000);
  s3_.Send("PUT", "/bkt/r", data);
  auto r = s3_.Send("GET", "/bkt/r", "", {{"range", "bytes=10-19"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, data.substr(10, 10));
  EXPECT_EQ(r.Header("content-range"), "bytes 10-19/5000");
  EXPECT_EQ(r.Header("content-length"), "10");
  r = s3_.Send("GET", "/bkt/r", "", {{"range", "bytes=4990-"}});
  EXPECT_EQ(r.body, data.substr(4990));
  r = s3_.Send("GET", "/bkt/r", "", {{"range", "bytes=-7"}});
  EXPECT_EQ(r.body, data.substr(4993));
  EXPECT_EQ(r.Header("content-range"), "bytes 4993-4999/5000");
  r = s3_.Send("GET", "/bkt/r", "", {{"range", "bytes=5000-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.ErrorCode(), "InvalidRange");
  EXPECT_EQ(r.Header("content-range"), "bytes */5000");
  r = s3_.Send("GET", "/bkt/r", "", {{"range", "bytes=0-1,5-6"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 5000u);
  r = s3_.Send("HEAD", "/bkt/r", "", {{"range", "bytes=0-99"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("content-length"), "100");
  // Inline objects serve ranges too.
  s3_.Send("PUT", "/bkt/small", "0123456789");
  EXPECT_EQ(s3_.Send("GET", "/bkt/small", "", {{"range", "bytes=2-4"}}).body, "234");
}

TEST_F(ObjectServiceTest, ConditionalGets) {
  s3_.Send("PUT", "/bkt/c", "content");
  std::string etag = Md5Etag("content");
  EXPECT_EQ(s3_.Send("GET", "/bkt/c", "", {{"if-match", etag}}).status, 200);
  EXPECT_EQ(s3_.Send("GET", "/bkt/c", "", {{"if-match", "\"nope\""}}).ErrorCode(), "PreconditionFailed");
  auto r = s3_.Send("GET", "/bkt/c", "", {{"if-none-match", etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.Header("etag"), etag);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(s3_.Send("HEAD", "/bkt/c", "", {{"if-none-match", etag}}).status, 304);
  EXPECT_EQ(s3_.Send("GET", "/bkt/c", "", {{"if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT"}}).status, 304);
  EXPECT_EQ(s3_.Send("GET", "/bkt/c", "", {{"if-modified-since", "Tue, 14 Nov 2023 22:13:19 GMT"}}).status, 200);
  EXPECT_EQ(s3_.Send("GET", "/bkt/c", "", {{"if-unmodified-since", "Mon, 13 Nov 2023 00:00:00 GMT"}}).status, 412);
}

TEST_F(ObjectServiceTest, ConditionalWrites) {
  EXPECT_EQ(s3_.Send("PUT", "/bkt/once", "1", {{"if-none-match", "*"}}).status, 200);
  auto r = s3_.Send("PUT", "/bkt/once", "2", {{"if-none-match", "*"}});
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.ErrorCode(), "PreconditionFailed");
  EXPECT_EQ(s3_.Send("GET", "/bkt/once").body, "1");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/once", "3", {{"if-match", Md5Etag("1")}}).status, 200);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/once", "4", {{"if-match", Md5Etag("1")}}).status, 412);
  EXPECT_EQ(s3_.Send("PUT", "/bkt/never", "4", {{"if-match", Md5Etag("1")}}).ErrorCode(), "NoSuchKey");
  // A large body that loses the race leaves no file behind.
  EXPECT_EQ(s3_.Send("PUT", "/bkt/once", Payload(4096), {{"if-none-match", "*"}}).status, 412);
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
}

TEST_F(ObjectServiceTest, ContentMd5) {
  std::string body = "hello md5";
  std::string good = Base64Encode(crypto::Md5Raw(body));
  EXPECT_EQ(s3_.Send("PUT", "/bkt/m", body, {{"content-md5", good}}).status, 200);
  auto r = s3_.Send("PUT", "/bkt/m", "tampered", {{"content-md5", good}});
  EXPECT_EQ(r.ErrorCode(), "BadDigest");
  EXPECT_EQ(s3_.Send("PUT", "/bkt/m", body, {{"content-md5", "not-base64!"}}).ErrorCode(), "InvalidDigest");
  EXPECT_EQ(s3_.Send("GET", "/bkt/m").body, body);
  r = s3_.Send("PUT", "/bkt/big", Payload(100000), {{"content-md5", good}});
  EXPECT_EQ(r.ErrorCode(), "BadDigest");
  EXPECT_EQ(s3_.Send("GET", "/bkt/big").ErrorCode(), "NoSuchKey");
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/tmp").empty());
}

TEST_F(ObjectServiceTest, ChecksumsHeaderAndTrailer) {
  using crypto::ChecksumAlgorithm;
  std::string body = Payload(3000);
  for (auto [alg, name] : {std::pair{ChecksumAlgorithm::kCrc32, "crc32"}, {ChecksumAlgorithm::kCrc32c, "crc32c"},
                           {ChecksumAlgorithm::kSha1, "sha1"}, {ChecksumAlgorithm::kSha256, "sha256"}}) {
    std::string header = std::string("x-amz-checksum-") + name;
    std::string value = Checksum(alg, body);
    auto r = s3_.Send("PUT", "/bkt/ck", body, {{header, value}});
    ASSERT_EQ(r.status, 200) << name << r.body;
    EXPECT_EQ(r.Header(header), value);
    EXPECT_EQ(s3_.Send("HEAD", "/bkt/ck").Header(header), "");
    EXPECT_EQ(s3_.Send("HEAD", "/bkt/ck", "", {{"x-amz-checksum-mode", "ENABLED"}}).Header(header), value);
    r = s3_.Send("PUT", "/bkt/ck", body + "x", {{header, value}});
    EXPECT_EQ(r.ErrorCode(), "BadDigest") << name;
  }
  auto r = s3_.Send("PUT", "/bkt/ck", "x", {{"x-amz-checksum-crc32", "AAAAAA=="}});
  EXPECT_NE(r.body.find("The CRC32 you specified did not match the calculated checksum."), std::string::npos);

  // aws-chunked trailer, as SDKs send by default.
  TestRequest t;
  t.method = "PUT";
  t.target = "/bkt/trailer";
  t.body = body;
  t.headers = {{"x-amz-trailer", "x-amz-checksum-crc32"}, {"x-amz-sdk-checksum-algorithm", "CRC32"},
               {"content-encoding", "aws-chunked"}};
  t.trailers.Add("x-amz-checksum-crc32", Checksum(ChecksumAlgorithm::kCrc32, body));
  r = s3_.Send(t);
  EXPECT_EQ(r.status, 200) << r.body;
  auto head = s3_.Send("HEAD", "/bkt/trailer", "", {{"x-amz-checksum-mode", "ENABLED"}});
  EXPECT_EQ(head.Header("x-amz-checksum-crc32"), Checksum(ChecksumAlgorithm::kCrc32, body));
  EXPECT_EQ(head.Header("content-encoding"), "");
  t.trailers = {};
  t.trailers.Add("x-amz-checksum-crc32", Checksum(ChecksumAlgorithm::kCrc32, "other"));
  EXPECT_EQ(s3_.Send(t).ErrorCode(), "BadDigest");
}

TEST_F(ObjectServiceTest, DeleteObjectAndMissingThings) {
  s3_.Send("PUT", "/bkt/d", Payload(5000));
  EXPECT_EQ(s3_.Send("DELETE", "/bkt/d").status, 204);
  EXPECT_EQ(s3_.Send("DELETE", "/bkt/d").status, 204);  // idempotent
  EXPECT_EQ(s3_.Send("GET", "/bkt/d").ErrorCode(), "NoSuchKey");
  EXPECT_EQ(s3_.Send("HEAD", "/bkt/d").status, 404);
  EXPECT_EQ(s3_.Send("GET", "/nobucket/d").ErrorCode(), "NoSuchBucket");
  EXPECT_EQ(s3_.Send("PUT", "/nobucket/d", "x").ErrorCode(), "NoSuchBucket");
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
}

TEST_F(ObjectServiceTest, DeleteObjects) {
  for (int i = 0; i < 5; ++i) s3_.Send("PUT", "/bkt/k" + std::to_string(i), Payload(2000));
  std::string body = "<Delete><Object><Key>k0</Key></Object><Object><Key>k1</Key></Object>"
                     "<Object><Key>absent</Key></Object><Object><Key>" + std::string(1100, 'x') +
                     "</Key></Object></Delete>";
  auto r = s3_.Send("POST", "/bkt?delete", body, {{"content-md5", Base64Encode(crypto::Md5Raw(body))}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<Deleted><Key>k0</Key></Deleted>"), std::string::npos);
  EXPECT_NE(r.body.find("<Deleted><Key>absent</Key></Deleted>"), std::string::npos);
  EXPECT_NE(r.body.find("<Code>KeyTooLongError</Code>"), std::string::npos);
  EXPECT_EQ(s3_.Send("GET", "/bkt/k1").ErrorCode(), "NoSuchKey");
  EXPECT_EQ(s3_.Send("GET", "/bkt/k2").status, 200);

  r = s3_.SendWithMd5("POST", "/bkt?delete", "<Delete><Quiet>true</Quiet><Object><Key>k2</Key></Object></Delete>");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("<Deleted>"), std::string::npos);

  std::string many = "<Delete>";
  for (int i = 0; i < 1001; ++i) many += "<Object><Key>x" + std::to_string(i) + "</Key></Object>";
  many += "</Delete>";
  EXPECT_EQ(s3_.SendWithMd5("POST", "/bkt?delete", many).ErrorCode(), "MalformedXML");
  EXPECT_EQ(s3_.SendWithMd5("POST", "/bkt?delete", "<Delete><Object>").ErrorCode(), "MalformedXML");
  EXPECT_EQ(s3_.SendWithMd5("POST", "/bkt?delete", "<Delete><Object><Key>k3</Key></Object></Delete><Delete/>").ErrorCode(),
            "MalformedXML");
  EXPECT_EQ(s3_.SendWithMd5("POST", "/bkt?delete", "<Other><Object><Key>k3</Key></Object></Other>").ErrorCode(),
            "MalformedXML");
  EXPECT_EQ(s3_.Send("POST", "/bkt?delete", "<Delete><Object><Key>k3</Key></Object></Delete>",
                     {{"content-md5", Base64Encode(crypto::Md5Raw("other"))}})
                .ErrorCode(),
            "BadDigest");
  EXPECT_EQ(s3_.Send("POST", "/bkt?delete", "<Delete><Object><Key>k3</Key></Object></Delete>").ErrorCode(),
            "InvalidRequest");  // S3 requires Content-MD5 or a checksum
  EXPECT_EQ(s3_.Send("GET", "/bkt/k3").status, 200);
}

// Keys are data: whitespace-only keys and CRs reach the store as sent, and
// the result names keys XML 1.0 cannot carry in a form parsers still accept.
TEST_F(ObjectServiceTest, DeleteObjectsKeepsEveryByteOfTheKey) {
  const std::vector<std::string> keys = {" ", "_ ", "\t", "a\rb", "a\nb", "a\x01z", "a\x7fz"};
  for (const auto& k : keys) ASSERT_EQ(s3_.Send("PUT", "/bkt/" + UriEncode(k, false), "x").status, 200) << k;
  std::string body = "<Delete>";
  for (const auto& k : keys) body += "<Object><Key>" + k + "</Key></Object>";
  body += "<Object><Key>bad\xff</Key></Object></Delete>";
  auto r = s3_.SendWithMd5("POST", "/bkt?delete", body);
  ASSERT_EQ(r.status, 200) << r.body;
  for (const auto& k : {" ", "_ ", "\t", "a&#13;b", "a\nb", "a\xEF\xBF\xBDz", "a\x7fz"}) {
    EXPECT_NE(r.body.find("<Deleted><Key>" + std::string(k) + "</Key></Deleted>"), std::string::npos) << k;
  }
  EXPECT_NE(r.body.find("<Error><Key>bad\xEF\xBF\xBD</Key><Code>InvalidArgument</Code>"), std::string::npos)
      << r.body;
  auto list = s3_.Send("GET", "/bkt?list-type=2");
  EXPECT_NE(list.body.find("<KeyCount>0</KeyCount>"), std::string::npos) << list.body;
}

TEST_F(ObjectServiceTest, CopyObject) {
  std::string data = Payload(70000);
  s3_.Send("PUT", "/bkt/src", data, {{"content-type", "image/png"}, {"x-amz-meta-a", "1"}});
  s3_.Send("PUT", "/dst");
  auto r = s3_.Send("PUT", "/dst/copy", "", {{"x-amz-copy-source", "/bkt/src"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<CopyObjectResult"), std::string::npos);
  EXPECT_NE(r.body.find("<ETag>" + Md5Etag(data) + "</ETag>"), std::string::npos) << r.body;
  auto get = s3_.Send("GET", "/dst/copy");
  EXPECT_TRUE(get.body == data);
  EXPECT_EQ(get.Header("content-type"), "image/png");
  EXPECT_EQ(get.Header("x-amz-meta-a"), "1");

  r = s3_.Send("PUT", "/dst/replaced", "",
               {{"x-amz-copy-source", "bkt/src"}, {"x-amz-metadata-directive", "REPLACE"},
                {"content-type", "text/plain"}});
  ASSERT_EQ(r.status, 200);
  get = s3_.Send("HEAD", "/dst/replaced");
  EXPECT_EQ(get.Header("content-type"), "text/plain");
  EXPECT_EQ(get.Header("x-amz-meta-a"), "");

  EXPECT_EQ(s3_.Send("PUT", "/bkt/src", "", {{"x-amz-copy-source", "bkt/src"}}).ErrorCode(), "InvalidRequest");
  r = s3_.Send("PUT", "/bkt/src", "",
               {{"x-amz-copy-source", "bkt/src"}, {"x-amz-metadata-directive", "REPLACE"}, {"x-amz-meta-b", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  get = s3_.Send("GET", "/bkt/src");
  EXPECT_EQ(get.Header("x-amz-meta-b"), "2");
  EXPECT_TRUE(get.body == data);

  EXPECT_EQ(s3_.Send("PUT", "/dst/x", "", {{"x-amz-copy-source", "bkt/missing"}}).ErrorCode(), "NoSuchKey");
  EXPECT_EQ(s3_.Send("PUT", "/dst/x", "", {{"x-amz-copy-source", "bkt"}}).ErrorCode(), "InvalidArgument");
  EXPECT_EQ(s3_.Send("PUT", "/dst/x", "", {{"x-amz-copy-source", "bkt/src"}, {"x-amz-copy-source-if-match", "\"no\""}})
                .status,
            412);
  EXPECT_EQ(s3_.Send("PUT", "/dst/x", "",
                     {{"x-amz-copy-source", "bkt/src"}, {"x-amz-copy-source-if-none-match", Md5Etag(data)}})
                .status,
            412);
  EXPECT_EQ(s3_.Send("PUT", "/dst/x", "", {{"x-amz-copy-source", "bkt/src?versionId=null"}}).status, 200);

  // Encoded keys in the copy source.
  s3_.Send("PUT", "/bkt/" + UriEncode("dir/ü x+y", true), "uni");
  r = s3_.Send("PUT", "/dst/u", "", {{"x-amz-copy-source", "/bkt/" + UriEncode("dir/ü x+y", true)}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s3_.Send("GET", "/dst/u").body, "uni");

  // Another account cannot copy from a private bucket.
  s3_.ActAs("222222222222", "bob");
  s3_.Send("PUT", "/bobs");
  EXPECT_EQ(s3_.Send("PUT", "/bobs/x", "", {{"x-amz-copy-source", "bkt/src"}}).ErrorCode(), "AccessDenied");
}

// Each operation that reads the version a request names answers a delete
// marker in its own way: when the marker is the current version, the key
// reads as deleted (404); named by id, 405 for reads and sub-resources, 400
// for a copy source, and no such version for GetObjectAttributes.
TEST_F(ObjectServiceTest, DeleteMarkersAnsweredAsEachOperationSays) {
  const std::string enabled = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
  ASSERT_EQ(s3_.Send("PUT", "/bkt?versioning", enabled).status, 200);
  std::string v1 = s3_.Send("PUT", "/bkt/k", "data").Header("x-amz-version-id");
  auto deleted = s3_.Send("DELETE", "/bkt/k");
  ASSERT_EQ(deleted.Header("x-amz-delete-marker"), "true");
  const std::string by_id = "versionId=" + deleted.Header("x-amz-version-id");
  const std::string unknown = "versionId=00000000000000010123456789abcdef";
  using Headers = std::vector<std::pair<std::string, std::string>>;
  const Headers attributes = {{"x-amz-object-attributes", "ETag"}};
  struct Case {
    std::string method;
    std::string target;
    Headers headers;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"GET", "/bkt/k", {}, 404, "NoSuchKey"},
      {"GET", "/bkt/k?" + by_id, {}, 405, "MethodNotAllowed"},
      {"GET", "/bkt/k?" + unknown, {}, 404, "NoSuchVersion"},
      {"HEAD", "/bkt/k?" + by_id, {}, 405, ""},
      {"PUT", "/bkt/copy", {{"x-amz-copy-source", "/bkt/k"}}, 404, "NoSuchKey"},
      {"PUT", "/bkt/copy", {{"x-amz-copy-source", "/bkt/k?" + by_id}}, 400, "InvalidRequest"},
      {"PUT", "/bkt/copy", {{"x-amz-copy-source", "/bkt/k?" + unknown}}, 404, "NoSuchVersion"},
      {"GET", "/bkt/k?attributes", attributes, 404, "NoSuchKey"},
      {"GET", "/bkt/k?attributes&" + by_id, attributes, 404, "NoSuchVersion"},
      {"GET", "/bkt/k?tagging", {}, 404, "NoSuchKey"},
      {"GET", "/bkt/k?tagging&" + by_id, {}, 405, "MethodNotAllowed"},
      {"GET", "/bkt/k?tagging&" + unknown, {}, 404, "NoSuchVersion"},
      {"DELETE", "/bkt/k?tagging", {}, 404, "NoSuchKey"},
      {"DELETE", "/bkt/k?tagging&" + by_id, {}, 405, "MethodNotAllowed"},
      {"GET", "/bkt/k?acl&" + by_id, {}, 405, "MethodNotAllowed"},
  };
  for (const Case& c : cases) {
    auto r = s3_.Send(c.method, c.target, "", c.headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << ": " << r.body;
    EXPECT_EQ(r.ErrorCode(), c.code) << c.method << " " << c.target;
  }
  EXPECT_EQ(s3_.Send("GET", "/bkt/k").Header("x-amz-delete-marker"), "true");
  EXPECT_EQ(s3_.Send("GET", "/bkt/k?" + by_id).Header("x-amz-delete-marker"), "true");
  EXPECT_EQ(s3_.Send("GET", "/bkt/k?versionId=" + v1).body, "data");
}

TEST_F(ObjectServiceTest, OverwriteRemovesOldDataFileAfterCommit) {
  s3_.Send("PUT", "/bkt/o", Payload(5000, 'a'));
  auto before = ListFilesRecursive(s3_.data_dir() + "/data");
  ASSERT_EQ(before.size(), 1u);
  s3_.Send("PUT", "/bkt/o", Payload(6000, 'b'));
  auto after = ListFilesRecursive(s3_.data_dir() + "/data");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(before[0], after[0]);
  EXPECT_TRUE(s3_.Send("GET", "/bkt/o").body == Payload(6000, 'b'));
  s3_.Send("PUT", "/bkt/o", "tiny");  // now inline
  EXPECT_TRUE(ListFilesRecursive(s3_.data_dir() + "/data").empty());
}

}  // namespace
}  // namespace annex::objectstore::testing
