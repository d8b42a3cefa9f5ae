// SigV4Verifier::Verify: header and presigned authentication, clock skew,
// expiry, unknown keys, tampering, unsigned x-amz-* headers, the region, and
// the payload-hash modes.

#include "appliance/auth/sigv4_verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"
#include "appliance/os/clock.h"
#include "tests/unit/appliance/auth/auth_test_util.h"

namespace annex::auth {
namespace {

using namespace std::chrono_literals;
using testing::MakeRequest;
using testing::MapCredentials;

constexpr char kAkid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : clock_(*ParseAmzDate("20130524T000000Z")), verifier_(creds_, clock_, "us-east-1") {
    creds_.Put(kAkid, kSecret);
  }

  // The S3 "GET Object" example request, exactly as the documentation shows it.
  http::Request GetObjectExample(
      std::string signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") {
    return MakeRequest("GET", "/test.txt",
                       {{"Host", "examplebucket.s3.amazonaws.com"},
                        {"Range", "bytes=0-9"},
                        {"x-amz-content-sha256", kEmpty},
                        {"x-amz-date", "20130524T000000Z"},
                        {"Authorization",
                         "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                         "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                         "Signature=" +
                             signature}});
  }

  http::Request PresignedExample() {
    return MakeRequest(
        "GET",
        "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
        "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
        "X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        {{"Host", "examplebucket.s3.amazonaws.com"}});
  }

  static std::string Code(const Result<AuthResult>& r) {
    return r.ok() ? "OK" : r.status().subcode();
  }

  static int HttpStatus(const Result<AuthResult>& r) {
    return r.ok() ? 200 : http::ApiErrorFromStatus(r.status()).http_status;
  }

  // Signs `r` (which carries x-amz-date) with exactly `names` as SignedHeaders,
  // as a client that leaves some headers out of the signature would.
  void SignWithHeaders(http::Request& r, std::vector<std::string> names) {
    CredentialScope scope{"20130524", "us-east-1", "s3"};
    std::string scope_text = scope.ToString();
    std::string key = DeriveSigningKey(kSecret, scope);
    SignatureContext ctx{names, kEmpty, "20130524T000000Z", scope_text, key, UriStyle::kS3, {}};
    r.headers.Set("authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kAkid) + "/" +
                                       scope_text + ", SignedHeaders=" + SignedHeadersString(names) +
                                       ", Signature=" + ComputeSignature(r, ctx).signature);
  }

  MapCredentials creds_;
  os::ManualClock clock_;
  SigV4Verifier verifier_;
};

TEST_F(VerifierTest, AcceptsS3GetObjectExample) {
  Result<AuthResult> r = verifier_.Verify(GetObjectExample());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->principal.anonymous);
  EXPECT_EQ(r->principal.access_key_id, kAkid);
  EXPECT_EQ(r->service, "s3");
  EXPECT_EQ(r->region, "us-east-1");
  EXPECT_EQ(r->payload_mode, PayloadMode::kSha256);
  EXPECT_EQ(r->payload_sha256, kEmpty);
  EXPECT_FALSE(r->presigned);
  // Repeating hits the signing-key cache and must give the same answer.
  EXPECT_TRUE(verifier_.Verify(GetObjectExample()).ok());
}

TEST_F(VerifierTest, RejectsWrongSecretAndTampering) {
  MapCredentials other;
  other.Put(kAkid, "not-the-secret");
  SigV4Verifier wrong(other, clock_);
  EXPECT_EQ(Code(wrong.Verify(GetObjectExample())), "SignatureDoesNotMatch");

  http::Request tampered = GetObjectExample();
  tampered.headers.Set("range", "bytes=0-99");
  EXPECT_EQ(Code(verifier_.Verify(tampered)), "SignatureDoesNotMatch");

  http::Request other_path = GetObjectExample();
  http::ParseTarget("/other.txt", other_path).IgnoreError();
  EXPECT_EQ(Code(verifier_.Verify(other_path)), "SignatureDoesNotMatch");
}

TEST_F(VerifierTest, RejectsUnknownKey) {
  MapCredentials empty;
  SigV4Verifier verifier(empty, clock_);
  Result<AuthResult> r = verifier.Verify(GetObjectExample());
  EXPECT_EQ(Code(r), "InvalidAccessKeyId");
}

// What the edge checks before spooling a large body for its digest: all but
// the signature, which a tampered request still passes here.
TEST_F(VerifierTest, VerifyHeadChecksAllButTheSignature) {
  EXPECT_TRUE(verifier_.VerifyHead(GetObjectExample()).ok());
  EXPECT_TRUE(verifier_.VerifyHead(GetObjectExample(std::string(64, '0'))).ok());
  MapCredentials none;
  SigV4Verifier unknown(none, clock_, "us-east-1");
  EXPECT_EQ(unknown.VerifyHead(GetObjectExample()).subcode(), "InvalidAccessKeyId");
  clock_.Advance(std::chrono::minutes(16));
  EXPECT_EQ(verifier_.VerifyHead(GetObjectExample()).subcode(), "RequestTimeTooSkewed");
}

TEST_F(VerifierTest, RejectsClockSkewBeyondFifteenMinutes) {
  clock_.Advance(14min);
  EXPECT_TRUE(verifier_.Verify(GetObjectExample()).ok());
  clock_.Advance(2min);
  EXPECT_EQ(Code(verifier_.Verify(GetObjectExample())), "RequestTimeTooSkewed");
  clock_.Set(*ParseAmzDate("20130523T234000Z"));
  EXPECT_EQ(Code(verifier_.Verify(GetObjectExample())), "RequestTimeTooSkewed");
}

TEST_F(VerifierTest, RejectsMalformedAuthorization) {
  http::Request r = GetObjectExample();
  r.headers.Set("authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1");
  EXPECT_EQ(Code(verifier_.Verify(r)), "AuthorizationHeaderMalformed");

  r.headers.Set(
      "authorization",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=range;x-amz-date, Signature=00");
  EXPECT_EQ(Code(verifier_.Verify(r)), "AuthorizationHeaderMalformed");  // host not signed

  // The credential scope date must be the request's date.
  r.headers.Set(
      "authorization",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130523/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=00");
  EXPECT_EQ(Code(verifier_.Verify(r)), "AuthorizationHeaderMalformed");

  r.headers.Set("authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
  EXPECT_EQ(Code(verifier_.Verify(r)), "InvalidRequest");

  http::Request no_date = GetObjectExample();
  no_date.headers.Remove("x-amz-date");
  EXPECT_EQ(Code(verifier_.Verify(no_date)), "AccessDenied");
}

TEST_F(VerifierTest, AcceptsDateHeaderInsteadOfXAmzDate) {
  SigningCredentials creds{kAkid, kSecret, ""};
  SignOptions options;
  options.time = clock_.Now();
  http::Request r = MakeRequest("GET", "/bucket/key", {{"Host", "s3.local"}});
  SignRequest(r, creds, options);
  // Re-sign by hand with Date instead of x-amz-date: rebuild from parts.
  r.headers.Remove("x-amz-date");
  r.headers.Add("date", "Fri, 24 May 2013 00:00:00 GMT");
  std::vector<std::string> names{"date", "host", "x-amz-content-sha256"};
  CredentialScope scope{"20130524", "us-east-1", "s3"};
  std::string scope_text = scope.ToString();
  std::string key = DeriveSigningKey(kSecret, scope);
  SignatureContext ctx{names, kEmpty, "20130524T000000Z", scope_text, key, UriStyle::kS3, {}};
  SignatureParts parts = ComputeSignature(r, ctx);
  r.headers.Set("authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kAkid) + "/" +
                                     scope_text +
                                     ", SignedHeaders=date;host;x-amz-content-sha256, "
                                     "Signature=" +
                                     parts.signature);
  Result<AuthResult> result = verifier_.Verify(r);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
}

TEST_F(VerifierTest, AcceptsS3PresignedUrlExampleUntilItExpires) {
  Result<AuthResult> r = verifier_.Verify(PresignedExample());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->presigned);
  EXPECT_EQ(r->payload_mode, PayloadMode::kUnsigned);

  clock_.Advance(86400s);
  EXPECT_TRUE(verifier_.Verify(PresignedExample()).ok());
  clock_.Advance(1s);
  r = verifier_.Verify(PresignedExample());
  EXPECT_EQ(Code(r), "AccessDenied");
  EXPECT_EQ(r.status().message(), "Request has expired");

  clock_.Set(*ParseAmzDate("20130523T230000Z"));
  EXPECT_EQ(Code(verifier_.Verify(PresignedExample())), "AccessDenied");  // not valid yet
}

TEST_F(VerifierTest, PresignedErrors) {
  http::Request r = PresignedExample();
  http::ParseTarget("/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", r)
      .IgnoreError();
  EXPECT_EQ(Code(verifier_.Verify(r)), "AuthorizationQueryParametersError");

  r = PresignedExample();
  r.query.Add("extra", "1");  // a parameter the signer did not sign
  EXPECT_EQ(Code(verifier_.Verify(r)), "SignatureDoesNotMatch");

  r = PresignedExample();
  r.headers.Add("Authorization", GetObjectExample().headers.GetOr("authorization", ""));
  EXPECT_EQ(Code(verifier_.Verify(r)), "InvalidArgument");  // two auth mechanisms

  r = PresignedExample();
  r.headers.Add("x-amz-acl", "public-read");
  EXPECT_EQ(Code(verifier_.Verify(r)), "AccessDenied");

  creds_.PutSession("ASIAWEEKLONGSESSION1", kSecret, "session-token", clock_.Now() + 8 * 24h);
  SigningCredentials creds{"ASIAWEEKLONGSESSION1", kSecret, "session-token"};
  PresignOptions options;
  options.time = clock_.Now();
  options.expires_seconds = 604800;
  http::Request week = MakeRequest("PUT", "/b/k", {{"Host", "s3.local"}});
  ASSERT_TRUE(PresignRequest(week, creds, options).ok());
  Result<AuthResult> ok = verifier_.Verify(week);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->session_token, "session-token");

  http::Request too_long = MakeRequest("PUT", "/b/k", {{"Host", "s3.local"}});
  too_long.query.Add("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  too_long.query.Add("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
  too_long.query.Add("X-Amz-Date", "20130524T000000Z");
  too_long.query.Add("X-Amz-Expires", "604801");
  too_long.query.Add("X-Amz-SignedHeaders", "host");
  too_long.query.Add("X-Amz-Signature", "00");
  EXPECT_EQ(Code(verifier_.Verify(too_long)), "AuthorizationQueryParametersError");
}

TEST_F(VerifierTest, UnsignedRequestIsAnError) {
  http::Request r = MakeRequest("GET", "/bucket/key", {{"Host", "s3.local"}});
  EXPECT_FALSE(IsSigV4Signed(r));
  EXPECT_EQ(ScopeService(r), "");
  EXPECT_EQ(Code(verifier_.Verify(r)), "AccessDenied");
  EXPECT_TRUE(IsSigV4Signed(GetObjectExample()));
  EXPECT_EQ(ScopeService(GetObjectExample()), "s3");
  EXPECT_TRUE(IsSigV4Signed(PresignedExample()));
  EXPECT_EQ(ScopeService(PresignedExample()), "s3");
}

TEST_F(VerifierTest, PayloadModesFromContentSha256Header) {
  SigningCredentials creds{kAkid, kSecret, ""};
  SignOptions options;
  options.time = clock_.Now();
  struct Case {
    std::string value;
    PayloadMode mode;
  } cases[] = {
      {"UNSIGNED-PAYLOAD", PayloadMode::kUnsigned},
      {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", PayloadMode::kStreamingSigned},
      {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", PayloadMode::kStreamingSignedTrailer},
      {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", PayloadMode::kStreamingUnsignedTrailer},
      {crypto::Sha256Hex("body"), PayloadMode::kSha256},
  };
  for (const Case& c : cases) {
    http::Request r = MakeRequest("PUT", "/b/k", {{"Host", "s3.local"}});
    options.payload_hash = c.value;
    SignRequest(r, creds, options);
    Result<AuthResult> result = verifier_.Verify(r);
    ASSERT_TRUE(result.ok()) << c.value << ": " << result.status().ToString();
    EXPECT_EQ(result->payload_mode, c.mode) << c.value;
  }
  http::Request bad = MakeRequest("PUT", "/b/k", {{"Host", "s3.local"}});
  options.payload_hash = "SHA256-OF-NOTHING";
  SignRequest(bad, creds, options);
  EXPECT_EQ(Code(verifier_.Verify(bad)), "InvalidArgument");

  // S3 requires the header with Authorization-header auth.
  http::Request missing =
      MakeRequest("PUT", "/b/k", {{"Host", "s3.local"}, {"Content-Length", "4"}});
  options.payload_hash = crypto::Sha256Hex("body");
  options.add_content_sha256_header = false;
  SignRequest(missing, creds, options);
  EXPECT_EQ(Code(verifier_.Verify(missing)), "InvalidRequest");
}

// Query-protocol services (IAM, STS, RDS) sign sha256(body) without sending
// x-amz-content-sha256; the edge passes the small body to Verify.
TEST_F(VerifierTest, QueryProtocolBodyIsHashedByVerify) {
  const std::string body = "Action=ListUsers&Version=2010-05-08";
  SigningCredentials creds{kAkid, kSecret, ""};
  SignOptions options;
  options.service = "iam";
  options.time = clock_.Now();
  options.payload_hash = crypto::Sha256Hex(body);
  options.add_content_sha256_header = false;
  http::Request r = MakeRequest("POST", "/",
                                {{"Host", "iam.amazonaws.com"},
                                 {"Content-Type", "application/x-www-form-urlencoded"},
                                 {"Content-Length", std::to_string(body.size())}});
  SignRequest(r, creds, options);
  Result<AuthResult> ok = verifier_.Verify(r, body);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->service, "iam");
  EXPECT_EQ(ok->payload_sha256, crypto::Sha256Hex(body));

  EXPECT_EQ(Code(verifier_.Verify(r, "Action=DeleteUser&UserName=x")), "SignatureDoesNotMatch");
  EXPECT_EQ(Code(verifier_.Verify(r)), "InvalidRequest");  // body needed but not given

  // A bodiless request to a non-S3 service signs sha256("").
  http::Request get = MakeRequest("GET", "/2015-03-31/functions/", {{"Host", "lambda.local"}});
  options.service = "lambda";
  options.payload_hash = "";
  SignRequest(get, creds, options);
  EXPECT_TRUE(verifier_.Verify(get).ok());

  // With the header present and a body given, the digest is checked at once.
  http::Request s3 = MakeRequest("PUT", "/b/k", {{"Host", "s3.local"}});
  SignOptions s3_options;
  s3_options.time = clock_.Now();
  s3_options.payload_hash = crypto::Sha256Hex("abc");
  SignRequest(s3, creds, s3_options);
  EXPECT_TRUE(verifier_.Verify(s3, "abc").ok());
  EXPECT_EQ(Code(verifier_.Verify(s3, "abd")), "XAmzContentSHA256Mismatch");
}

TEST_F(VerifierTest, SignedRequestRoundTripsWithAwkwardKeys) {
  SigningCredentials creds{kAkid, kSecret, ""};
  SignOptions options;
  options.time = clock_.Now();
  // Keys with spaces, plus, unicode and reserved characters, as SDKs encode them.
  http::Request r = MakeRequest(
      "PUT", "/bucket/dir%20one/a%2Bb%21%28c%29/%C3%BCber.txt?partNumber=1&uploadId=a%2Fb",
      {{"Host", "bucket.s3.local:4566"}, {"X-Amz-Meta-Note", "  hello   world "}});
  SignRequest(r, creds, options);
  Result<AuthResult> result = verifier_.Verify(r);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  // The same key sent with '!', '(' and ')' unescaped still verifies.
  http::ParseTarget("/bucket/dir%20one/a%2Bb!(c)/%C3%BCber.txt?partNumber=1&uploadId=a%2Fb", r)
      .IgnoreError();
  EXPECT_TRUE(verifier_.Verify(r).ok());
}

// Temporary credentials sign only with their own session token (header or
// presigned query), and only until they expire; a long-term key refuses a
// token rather than ignoring it.
TEST_F(VerifierTest, SessionTokens) {
  constexpr char kSessionKey[] = "ASIAIOSFODNN7EXAMPL";
  creds_.PutSession(kSessionKey, kSecret, "the-token", clock_.Now() + 15min);
  SignOptions options;
  options.time = clock_.Now();
  auto verify = [&](SigningCredentials creds) {
    http::Request r = MakeRequest("GET", "/bucket/key", {{"Host", "s3.local"}});
    SignRequest(r, creds, options);
    return verifier_.Verify(r);
  };
  auto code = [&](SigningCredentials creds) { return verify(creds).status().subcode(); };
  EXPECT_TRUE(verify({kSessionKey, kSecret, "the-token"}).ok());
  EXPECT_EQ(code({kSessionKey, kSecret, ""}), "InvalidToken");
  EXPECT_EQ(code({kSessionKey, kSecret, "the-tokeX"}), "InvalidToken");
  EXPECT_EQ(code({kAkid, kSecret, "the-token"}), "InvalidToken");
  EXPECT_TRUE(verify({kAkid, kSecret, ""}).ok());

  http::Request presigned = MakeRequest("GET", "/bucket/key", {{"Host", "s3.local"}});
  PresignOptions presign;
  presign.time = clock_.Now();
  ASSERT_TRUE(PresignRequest(presigned, {kSessionKey, kSecret, "the-token"}, presign).ok());
  EXPECT_TRUE(verifier_.Verify(presigned).ok());

  clock_.Advance(15min);
  options.time = clock_.Now();
  EXPECT_EQ(code({kSessionKey, kSecret, "the-token"}), "ExpiredToken");
  EXPECT_EQ(verifier_.Verify(presigned).status().subcode(), "ExpiredToken");
}

// A signed request replayed with an x-amz-* header added (a public ACL, a
// copy source, metadata) must not pass as what the signer authorized.
TEST_F(VerifierTest, RefusesUnsignedAmzHeaders) {
  for (std::string name : {"x-amz-acl", "x-amz-copy-source", "x-amz-meta-injected"}) {
    http::Request r = GetObjectExample();
    r.headers.Add(name, "public-read");
    Result<AuthResult> result = verifier_.Verify(r);
    EXPECT_EQ(Code(result), "AccessDenied") << name;
    EXPECT_EQ(HttpStatus(result), 403) << name;
    EXPECT_EQ(result.status().message(),
              "There were headers present in the request which were not signed: " + name);
  }
  // Every unsigned header is named, once.
  http::Request several = GetObjectExample();
  several.headers.Add("X-Amz-Acl", "public-read");
  several.headers.Add("x-amz-meta-a", "1");
  several.headers.Add("x-amz-acl", "private");
  EXPECT_EQ(verifier_.Verify(several).status().message(),
            "There were headers present in the request which were not signed: x-amz-acl, "
            "x-amz-meta-a");

  // What SDKs leave unsigned is not x-amz-*, and stays acceptable.
  http::Request sdk = GetObjectExample();
  sdk.headers.Add("user-agent", "aws-cli/2.9.19");
  sdk.headers.Add("x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793");
  sdk.headers.Add("expect", "100-continue");
  Result<AuthResult> ok = verifier_.Verify(sdk);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST_F(VerifierTest, RefusesUnsignedAmzHeadersForEveryService) {
  SigningCredentials creds{kAkid, kSecret, ""};
  SignOptions options;
  options.service = "lambda";
  options.time = clock_.Now();
  options.add_content_sha256_header = false;
  http::Request r = MakeRequest("GET", "/2015-03-31/functions/", {{"Host", "lambda.local"}});
  SignRequest(r, creds, options);
  ASSERT_TRUE(verifier_.Verify(r).ok());
  r.headers.Add("x-amz-security-token", "someone-else's-session");
  EXPECT_EQ(Code(verifier_.Verify(r)), "AccessDenied");
}

TEST_F(VerifierTest, RefusesContentSha256PresentButUnsigned) {
  http::Request r = MakeRequest("PUT", "/b/k",
                                {{"Host", "s3.local"},
                                 {"x-amz-date", "20130524T000000Z"},
                                 {"x-amz-content-sha256", kEmpty}});
  SignWithHeaders(r, {"host", "x-amz-date"});
  Result<AuthResult> result = verifier_.Verify(r);
  EXPECT_EQ(Code(result), "AccessDenied");
  EXPECT_EQ(HttpStatus(result), 403);
  EXPECT_NE(result.status().message().find("x-amz-content-sha256"), std::string::npos)
      << result.status().message();

  SignWithHeaders(r, {"host", "x-amz-content-sha256", "x-amz-date"});
  result = verifier_.Verify(r);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
}

TEST_F(VerifierTest, WrongRegionNamesTheExpectedOne) {
  SigningCredentials creds{kAkid, kSecret, ""};
  SignOptions options;
  options.time = clock_.Now();
  options.region = "eu-west-1";
  http::Request r = MakeRequest("GET", "/b/k", {{"Host", "s3.local"}});
  SignRequest(r, creds, options);
  Result<AuthResult> result = verifier_.Verify(r);
  EXPECT_EQ(Code(result), "AuthorizationHeaderMalformed");
  EXPECT_EQ(HttpStatus(result), 400);
  EXPECT_EQ(result.status().message(),
            "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting "
            "'us-east-1'");

  PresignOptions presign;
  presign.time = clock_.Now();
  presign.region = "eu-west-1";
  http::Request url = MakeRequest("GET", "/b/k", {{"Host", "s3.local"}});
  ASSERT_TRUE(PresignRequest(url, creds, presign).ok());
  result = verifier_.Verify(url);
  EXPECT_EQ(Code(result), "AuthorizationQueryParametersError");
  EXPECT_EQ(HttpStatus(result), 400);
  EXPECT_NE(result.status().message().find("the region 'eu-west-1' is wrong; expecting 'us-east-1'"),
            std::string::npos)
      << result.status().message();

  // A verifier given no region accepts any.
  SigV4Verifier any_region(creds_, clock_);
  EXPECT_TRUE(any_region.Verify(r).ok());
  EXPECT_TRUE(any_region.Verify(url).ok());
}

TEST_F(VerifierTest, UppercaseHexSignatureDoesNotMatch) {
  Result<AuthResult> result = verifier_.Verify(
      GetObjectExample("F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41"));
  EXPECT_EQ(Code(result), "SignatureDoesNotMatch");
  EXPECT_EQ(HttpStatus(result), 403);
}

}  // namespace
}  // namespace annex::auth

namespace annex::auth {
namespace {

// The example of S3's documentation, "Example: Browser-Based Upload using
// HTTP POST (Using AWS Signature Version 4)": its policy and signature.
constexpr char kExamplePolicy[] =
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2"
    "NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMt"
    "cmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29t"
    "L3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4"
    "LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0s"
    "DQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZP"
    "RE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1B"
    "Qy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
constexpr char kExampleSignature[] = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";

TEST_F(VerifierTest, PostPolicySignature) {
  PostPolicySignature form{"AWS4-HMAC-SHA256", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
                           "20151229T000000Z", kExampleSignature, ""};
  Result<Principal> signer = verifier_.VerifyPostPolicy(kExamplePolicy, form);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EXPECT_FALSE(signer->anonymous);
  EXPECT_EQ(signer->access_key_id, kAkid);

  auto code = [&](PostPolicySignature f, std::string_view policy = kExamplePolicy) {
    Result<Principal> r = verifier_.VerifyPostPolicy(policy, f);
    return r.ok() ? std::string("OK") : r.status().subcode();
  };
  EXPECT_EQ(code(form, "eyJ9"), "SignatureDoesNotMatch");
  PostPolicySignature f = form;
  f.signature = "8AFDBF4008C03F22C2CD3CDB72E4AFBB1F6A588F3255AC628749A66D7F09699E";
  EXPECT_EQ(code(f), "SignatureDoesNotMatch");
  f = form;
  f.algorithm = "AWS4-HMAC-SHA1";
  EXPECT_EQ(code(f), "AuthorizationQueryParametersError");
  f = form;
  f.credential = "AKIAIOSFODNN7EXAMPLE/20151229/eu-west-1/s3/aws4_request";
  EXPECT_EQ(code(f), "AuthorizationQueryParametersError");  // this appliance's region is us-east-1
  f = form;
  f.credential = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/ec2/aws4_request";
  EXPECT_EQ(code(f), "AuthorizationQueryParametersError");
  f = form;
  f.credential = "AKIAIOSFODNN7EXAMPLE/us-east-1/s3/aws4_request";
  EXPECT_EQ(code(f), "AuthorizationQueryParametersError");
  f = form;
  f.amz_date = "20151230T000000Z";  // another day than the credential's
  EXPECT_EQ(code(f), "AuthorizationQueryParametersError");
  f = form;
  f.credential = "AKIAUNKNOWN000000000/20151229/us-east-1/s3/aws4_request";
  EXPECT_EQ(code(f), "InvalidAccessKeyId");
  f = form;
  f.session_token = "a-token-for-a-long-term-key";
  EXPECT_EQ(code(f), "InvalidToken");
}

// S3's answers to presigned lifetimes out of range: 0 has expired already.
TEST_F(VerifierTest, PresignedExpiresOutOfRange) {
  auto presigned = [](std::string expires) {
    http::Request r = MakeRequest("GET", "/b/k", {{"Host", "s3.local"}});
    r.query.Add("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    r.query.Add("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130523/us-east-1/s3/aws4_request");
    r.query.Add("X-Amz-Date", "20130523T235959Z");
    r.query.Add("X-Amz-Expires", expires);
    r.query.Add("X-Amz-SignedHeaders", "host");
    r.query.Add("X-Amz-Signature", "00");
    return r;
  };
  Result<AuthResult> zero = verifier_.Verify(presigned("0"));
  EXPECT_EQ(Code(zero), "AccessDenied");
  EXPECT_EQ(zero.status().message(), "Request has expired");
  Result<AuthResult> week = verifier_.Verify(presigned("604801"));
  EXPECT_EQ(HttpStatus(week), 400);
  EXPECT_EQ(week.status().message(),
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than "
            "604800 seconds");
  EXPECT_EQ(verifier_.Verify(presigned("-1")).status().message(), "X-Amz-Expires must be non-negative");
  EXPECT_EQ(verifier_.Verify(presigned("x")).status().message(), "X-Amz-Expires should be a number");
}

}  // namespace
}  // namespace annex::auth
