// The pure SigV4 algorithm against AWS's published vectors: the
// aws-sig-v4-test-suite (service "service") and the S3 API reference examples.

#include "appliance/auth/sigv4.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "tests/unit/appliance/auth/auth_test_util.h"

namespace annex::auth {
namespace {

using testing::MakeRequest;

constexpr char kSuiteAkid[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kSuiteDate[] = "20150830T123600Z";
constexpr char kS3Akid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kS3Secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

SystemTime Time(const char* amz_date) { return *ParseAmzDate(amz_date); }

std::string SuiteScope() { return CredentialScope{"20150830", "us-east-1", "service"}.ToString(); }

struct SuiteVector {
  const char* name;
  const char* method;
  const char* target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> signed_headers;
  const char* payload_hash;
  const char* canonical_request;
  const char* string_to_sign_hash;  // last line of the string to sign
  const char* signature;
};

constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kFormHash[] = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";

std::vector<SuiteVector> HeaderVectors() {
  const std::pair<std::string, std::string> host{"Host", "example.amazonaws.com"};
  const std::pair<std::string, std::string> date{"X-Amz-Date", kSuiteDate};
  const std::vector<std::string> basic{"host", "x-amz-date"};
  return {
      {"get-vanilla",
       "GET",
       "/",
       {host, date},
       basic,
       kEmpty,
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/?Param2=value2&Param1=value1",
       {host, date},
       basic,
       kEmpty,
       "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
       "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "/?%E1%88%B4=bar",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       {host, {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, date},
       {"host", "my-header1", "x-amz-date"},
       kEmpty,
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-order",
       "GET",
       "/",
       {host,
        {"My-Header1", "value4"},
        {"My-Header1", "value1"},
        {"My-Header1", "value3"},
        {"My-Header1", "value2"},
        date},
       {"host", "my-header1", "x-amz-date"},
       kEmpty,
       nullptr,
       "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"get-header-value-trim",
       "GET",
       "/",
       {host, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}, date},
       {"host", "my-header1", "my-header2", "x-amz-date"},
       kEmpty,
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-unreserved",
       "GET",
       "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-utf8",
       "GET",
       "/\xE1\x88\xB4",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space-unnormalized",
       "GET",
       "/example space/",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-slashes-unnormalized",
       "GET",
       "//example//",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
       "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
      {"post-vanilla",
       "POST",
       "/",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"post-vanilla-query",
       "POST",
       "/?Param1=value1",
       {host, date},
       basic,
       kEmpty,
       nullptr,
       "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       {{"Content-Type", "application/x-www-form-urlencoded"},
        host,
        {"Content-Length", "13"},
        date,
        {"X-Amz-Content-Sha256", kFormHash}},
       {"content-length", "content-type", "host", "x-amz-content-sha256", "x-amz-date"},
       kFormHash,
       "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
       "host:example.amazonaws.com\nx-amz-content-sha256:"
       "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
       "x-amz-date:20150830T123600Z\n\n"
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
       "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
       "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
  };
}

class SuiteTest : public ::testing::TestWithParam<SuiteVector> {};

// The suite's request paths are taken verbatim (single encoding, no
// normalization), which is the S3 style; the *-unnormalized cases prove it.
TEST_P(SuiteTest, CanonicalRequestStringToSignAndSignature) {
  const SuiteVector& v = GetParam();
  http::Request request = MakeRequest(v.method, v.target, {});
  for (const auto& [name, value] : v.headers) request.headers.Add(name, value);
  const std::string key = DeriveSigningKey(kSuiteSecret, {"20150830", "us-east-1", "service"});
  const std::string scope = SuiteScope();
  SignatureContext context{
      v.signed_headers, v.payload_hash, kSuiteDate, scope, key, UriStyle::kS3, {}};
  SignatureParts parts = ComputeSignature(request, context);
  if (v.canonical_request != nullptr) {
    EXPECT_EQ(parts.canonical_request, v.canonical_request);
  }
  EXPECT_EQ(parts.string_to_sign, std::string("AWS4-HMAC-SHA256\n20150830T123600Z\n") + scope +
                                      "\n" + v.string_to_sign_hash);
  EXPECT_EQ(parts.signature, v.signature);
}

INSTANTIATE_TEST_SUITE_P(AwsSigV4TestSuite, SuiteTest, ::testing::ValuesIn(HeaderVectors()),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST(SigV4, SignRequestReproducesSuiteVectors) {
  SigningCredentials creds{kSuiteAkid, kSuiteSecret, ""};
  SignOptions options;
  options.service = "service";
  options.time = Time(kSuiteDate);
  options.add_content_sha256_header = false;
  http::Request get = MakeRequest("GET", "/", {{"Host", "example.amazonaws.com"}});
  SignRequest(get, creds, options);
  EXPECT_EQ(*get.headers.Get("authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(*get.headers.Get("x-amz-date"), kSuiteDate);

  http::Request post = MakeRequest("POST", "/",
                                   {{"Content-Type", "application/x-www-form-urlencoded"},
                                    {"Host", "example.amazonaws.com"},
                                    {"Content-Length", "13"},
                                    {"User-Agent", "not-signed/1.0"}});
  options.add_content_sha256_header = true;
  options.payload_hash = crypto::Sha256Hex("Param1=value1");
  SignatureParts parts = SignRequest(post, creds, options);
  EXPECT_EQ(parts.signature, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
}

TEST(SigV4, PresignReproducesSuiteQueryVectors) {
  SigningCredentials creds{kSuiteAkid, kSuiteSecret, ""};
  PresignOptions options;
  options.service = "service";
  options.time = Time(kSuiteDate);
  options.payload_hash = kEmpty;
  http::Request get = MakeRequest("GET", "/", {{"Host", "example.amazonaws.com"}});
  Result<SignatureParts> parts = PresignRequest(get, creds, options);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->canonical_request,
            "GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F"
            "us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
            "X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\n" +
                std::string(kEmpty));
  EXPECT_EQ(parts->signature, "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
  EXPECT_EQ(*get.query.Get("X-Amz-Signature"), parts->signature);
  EXPECT_NE(get.target.find("X-Amz-Signature=e93c787e"), std::string::npos);

  http::Request order =
      MakeRequest("GET", "/?Param2=value2&Param1=value1", {{"Host", "example.amazonaws.com"}});
  parts = PresignRequest(order, creds, options);
  EXPECT_EQ(parts->signature, "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5");

  http::Request post = MakeRequest("POST", "/",
                                   {{"Content-Type", "application/x-www-form-urlencoded"},
                                    {"Host", "example.amazonaws.com"},
                                    {"Content-Length", "13"}});
  options.payload_hash = kFormHash;
  options.extra_signed_headers = {"content-type", "content-length"};
  parts = PresignRequest(post, creds, options);
  EXPECT_EQ(parts->signature, "89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9");

  options.expires_seconds = kMaxPresignExpirySeconds + 1;
  EXPECT_FALSE(PresignRequest(post, creds, options).ok());
}

// S3 API reference, "Example: GET Object" (header auth, Range, empty payload).
TEST(SigV4, S3GetObjectExample) {
  SigningCredentials creds{kS3Akid, kS3Secret, ""};
  SignOptions options;
  options.time = Time("20130524T000000Z");
  http::Request request = MakeRequest(
      "GET", "/test.txt", {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}});
  SignatureParts parts = SignRequest(request, creds, options);
  EXPECT_EQ(parts.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                std::string(kEmpty) +
                "\nx-amz-date:20130524T000000Z\n\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" +
                kEmpty);
  EXPECT_EQ(crypto::Sha256Hex(parts.canonical_request),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(parts.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// S3 API reference, query-string authentication example.
TEST(SigV4, S3PresignedUrlExample) {
  SigningCredentials creds{kS3Akid, kS3Secret, ""};
  PresignOptions options;
  options.time = Time("20130524T000000Z");
  options.expires_seconds = 86400;
  http::Request request =
      MakeRequest("GET", "/test.txt", {{"Host", "examplebucket.s3.amazonaws.com"}});
  Result<SignatureParts> parts = PresignRequest(request, creds, options);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(request.target,
            "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
            "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
            "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=" +
                parts->signature);
}

// S3 API reference, "Example: PUT Object" in multiple chunks.
TEST(SigV4, S3ChunkSignatureChain) {
  const CredentialScope scope{"20130524", "us-east-1", "s3"};
  ChunkSigner signer(DeriveSigningKey(kS3Secret, scope), "20130524T000000Z", scope.ToString(),
                     "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  EXPECT_EQ(signer.SignChunk(std::string(65536, 'a')),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  EXPECT_EQ(signer.SignChunk(std::string(1024, 'a')),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  EXPECT_EQ(signer.SignChunk(""),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
}

// S3 API reference, chunked upload with a signed trailer (x-amz-checksum-crc32c).
TEST(SigV4, S3TrailerSignatureChain) {
  const CredentialScope scope{"20130524", "us-east-1", "s3"};
  ChunkSigner signer(DeriveSigningKey(kS3Secret, scope), "20130524T000000Z", scope.ToString(),
                     "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
  EXPECT_EQ(signer.SignChunk(std::string(65536, 'a')),
            "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2");
  EXPECT_EQ(signer.SignChunk(std::string(1024, 'a')),
            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7");
  EXPECT_EQ(signer.SignChunk(""),
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992");
  EXPECT_EQ(signer.SignTrailer("x-amz-checksum-crc32c:sOO8/Q==\n"),
            "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
}

TEST(SigV4, CanonicalUriStyles) {
  // S3: decoded then encoded once; nothing normalized.
  EXPECT_EQ(CanonicalUri("/photos/a%20b%2Bc.jpg", UriStyle::kS3), "/photos/a%20b%2Bc.jpg");
  EXPECT_EQ(CanonicalUri("/bucket/a!b(c)*", UriStyle::kS3), "/bucket/a%21b%28c%29%2A");
  EXPECT_EQ(CanonicalUri("//a/./../b//", UriStyle::kS3), "//a/./../b//");
  EXPECT_EQ(CanonicalUri("", UriStyle::kS3), "/");
  // Other services: dot segments and empty segments go, the wire form is encoded again.
  auto normalized = UriStyle::kNormalizeAndDoubleEncode;
  EXPECT_EQ(CanonicalUri("//example//", normalized), "/example/");
  EXPECT_EQ(CanonicalUri("/example/..", normalized), "/");
  EXPECT_EQ(CanonicalUri("/a/./b/../c", normalized), "/a/c");
  EXPECT_EQ(CanonicalUri("/functions/arn%3Aaws%3Alambda/invocations", normalized),
            "/functions/arn%253Aaws%253Alambda/invocations");
  EXPECT_EQ(UriStyleForService("s3"), UriStyle::kS3);
  EXPECT_EQ(UriStyleForService("lambda"), normalized);
}

TEST(SigV4, CanonicalQuerySortsByEncodedNameThenValue) {
  http::Request r = MakeRequest("GET",
                                "/?prefix=photos%2F&list-type=2&prefix=archive%2F&uploads&"
                                "a%20b=%2B",
                                {});
  EXPECT_EQ(CanonicalQueryString(r.query),
            "a%20b=%2B&list-type=2&prefix=archive%2F&prefix=photos%2F&uploads=");
  EXPECT_EQ(CanonicalQueryString(r.query, "prefix"), "a%20b=%2B&list-type=2&uploads=");
}

TEST(SigV4, CanonicalHeaderValueTrimsAndCollapses) {
  EXPECT_EQ(CanonicalHeaderValue(" \tone  two\t\tthree \t"), "one two three");
  EXPECT_EQ(CanonicalHeaderValue(""), "");
  http::Headers h;
  h.Add("Host", "s3.local:4566");
  std::vector<std::string> names{"host", "x-amz-meta-absent"};
  EXPECT_EQ(CanonicalHeaders(h, names), "host:s3.local:4566\nx-amz-meta-absent:\n");
}

TEST(SigV4, ParseAuthorizationHeaderVariants) {
  const char* variants[] = {
      "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc123",
      "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;x-amz-date,Signature=abc123",
      "AWS4-HMAC-SHA256   Credential=AKID/20130524/us-east-1/s3/aws4_request ,  "
      "SignedHeaders=host;x-amz-date ,Signature=abc123 ",
      "AWS4-HMAC-SHA256 Signature=abc123 SignedHeaders=host;x-amz-date "
      "Credential=AKID/20130524/us-east-1/s3/aws4_request",
  };
  for (const char* v : variants) {
    auto parsed = ParseAuthorizationHeader(v);
    ASSERT_TRUE(parsed.has_value()) << v;
    EXPECT_EQ(parsed->credential, "AKID/20130524/us-east-1/s3/aws4_request");
    EXPECT_EQ(parsed->signed_headers, "host;x-amz-date");
    EXPECT_EQ(parsed->signature, "abc123");
  }
  EXPECT_FALSE(ParseAuthorizationHeader("AWS AKID:signature"));
  EXPECT_FALSE(ParseAuthorizationHeader("AWS4-HMAC-SHA256 Credential=a/b, Signature=x"));
  EXPECT_FALSE(ParseAuthorizationHeader(
      "AWS4-HMAC-SHA256 Credential=a, Credential=b, SignedHeaders=host, Signature=x"));
  EXPECT_FALSE(
      ParseAuthorizationHeader("AWS4-HMAC-SHA256X Credential=a, SignedHeaders=h, Signature=x"));
}

TEST(SigV4, ParseCredential) {
  auto c = ParseCredential("AKID/20130524/us-east-1/s3/aws4_request");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->access_key_id, "AKID");
  EXPECT_EQ(c->scope.ToString(), "20130524/us-east-1/s3/aws4_request");
  EXPECT_FALSE(ParseCredential("AKID/2013052/us-east-1/s3/aws4_request"));
  EXPECT_FALSE(ParseCredential("AKID/20130524/us-east-1/s3/aws5_request"));
  EXPECT_FALSE(ParseCredential("AKID/20130524//s3/aws4_request"));
  EXPECT_FALSE(ParseCredential("AKID/20130524/us-east-1/s3"));
}

TEST(SigV4, SignaturesEqualIsExactAndLengthChecked) {
  EXPECT_TRUE(SignaturesEqual("abcdef", "abcdef"));
  EXPECT_FALSE(SignaturesEqual("abcdef", "ABCDEF"));  // AWS compares the hex as sent
  EXPECT_FALSE(SignaturesEqual("abcdef", "abcdee"));
  EXPECT_FALSE(SignaturesEqual("abcdef", "abcde"));
  EXPECT_FALSE(SignaturesEqual("abcdef", ""));
  EXPECT_TRUE(SignaturesEqual("", ""));
}

TEST(SigV4, FormatChunk) {
  EXPECT_EQ(FormatChunk("hello", "sig"), "5;chunk-signature=sig\r\nhello\r\n");
  EXPECT_EQ(FormatChunk(std::string(1024, 'a'), "").substr(0, 5), "400\r\n");
  EXPECT_EQ(FormatChunk("", "sig"), "0;chunk-signature=sig\r\n");
}

}  // namespace
}  // namespace annex::auth
