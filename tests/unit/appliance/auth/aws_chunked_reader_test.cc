// Body verification: aws-chunked decoding (signed, signed-trailer,
// unsigned-trailer) and the single-chunk sha256 check, fed through a raw
// stream that splits the bytes at awkward places.

#include "appliance/auth/aws_chunked_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "appliance/auth/payload_reader.h"
#include "appliance/auth/sigv4.h"
#include "appliance/auth/sigv4_verifier.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/clock.h"
#include "tests/unit/appliance/auth/auth_test_util.h"

namespace annex::auth {
namespace {

using testing::FakeBodyReader;
using testing::MakeRequest;
using testing::MapCredentials;
using testing::ReadAll;

constexpr char kAkid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

// The raw-stream splits every body is fed through: whole, byte by byte,
// and sizes that put boundaries inside headers, CRLFs and signatures.
const std::vector<std::vector<size_t>> kSplits = {{1 << 20}, {1}, {7, 3, 64}, {8191, 2, 1}, {65}};

// The S3 documentation's chunked PUT (66560 bytes of 'a' in two chunks).
std::string DocumentedChunkedBody() {
  return FormatChunk(std::string(65536, 'a'),
                     "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648") +
         FormatChunk(std::string(1024, 'a'),
                     "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497") +
         FormatChunk("", "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9") +
         "\r\n";
}

class ChunkedTest : public ::testing::Test {
 protected:
  ChunkedTest() : clock_(*ParseAmzDate("20130524T000000Z")), verifier_(creds_, clock_) {
    creds_.Put(kAkid, kSecret);
  }

  // The documented request head; Verify() must reproduce the seed signature.
  AuthResult DocumentedAuth() {
    http::Request r = MakeRequest(
        "PUT", "/examplebucket/chunkObject.txt",
        {{"Host", "s3.amazonaws.com"},
         {"x-amz-date", "20130524T000000Z"},
         {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
         {"Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
          "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
          "x-amz-decoded-content-length;x-amz-storage-class,Signature=" +
              std::string(kSeed)},
         {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
         {"Content-Encoding", "aws-chunked"},
         {"x-amz-decoded-content-length", "66560"},
         {"Content-Length", "66824"}});
    Result<AuthResult> auth = verifier_.Verify(r);
    EXPECT_TRUE(auth.ok()) << auth.status().ToString();
    return auth.ok() ? *auth : AuthResult{};
  }

  // Options for a signed chunk chain under the documented scope.
  AwsChunkedOptions SignedOptions(bool trailer) {
    const CredentialScope scope{"20130524", "us-east-1", "s3"};
    AwsChunkedOptions o;
    o.signed_chunks = true;
    o.signed_trailer = trailer;
    o.signing_key = DeriveSigningKey(kSecret, scope);
    o.amz_date = "20130524T000000Z";
    o.scope = scope.ToString();
    o.seed_signature = kSeed;
    return o;
  }

  // A signed body of `chunks`, then trailers; the signer is the client's.
  std::string SignedBody(const std::vector<std::string>& chunks, const std::string& trailer_text,
                         bool sign_trailer) {
    AwsChunkedOptions o = SignedOptions(sign_trailer);
    ChunkSigner signer(o.signing_key, o.amz_date, o.scope, o.seed_signature);
    std::string body;
    for (const auto& c : chunks) body += FormatChunk(c, signer.SignChunk(c));
    body += FormatChunk("", signer.SignChunk(""));
    std::string text = trailer_text;
    for (size_t pos = 0; (pos = text.find('\n', pos)) != std::string::npos; pos += 2) {
      text.replace(pos, 1, "\r\n");
    }
    body += text;
    if (sign_trailer)
      body += "x-amz-trailer-signature:" + signer.SignTrailer(trailer_text) + "\r\n";
    return body + "\r\n";
  }

  static std::string Code(const Result<std::string>& r) {
    return r.ok() ? "OK" : r.status().subcode();
  }

  MapCredentials creds_;
  os::ManualClock clock_;
  SigV4Verifier verifier_;
};

TEST_F(ChunkedTest, DocumentedExampleDecodesUnderEverySplit) {
  AuthResult auth = DocumentedAuth();
  ASSERT_EQ(auth.payload_mode, PayloadMode::kStreamingSigned);
  ASSERT_EQ(auth.seed_signature, kSeed);
  ASSERT_EQ(auth.decoded_content_length, 66560u);
  const std::string body = DocumentedChunkedBody();
  ASSERT_EQ(body.size(), 66824u);  // the documented Content-Length
  for (const auto& split : kSplits) {
    for (size_t read_size : {1u, 1000u, 65536u, 200000u}) {
      FakeBodyReader raw(body, split);
      auto reader = verifier_.WrapBody(raw, auth, nullptr);
      Result<std::string> out = ReadAll(*reader, read_size);
      ASSERT_TRUE(out.ok()) << out.status().ToString() << " split " << split[0] << " read "
                            << read_size;
      EXPECT_EQ(*out, std::string(66560, 'a'));
    }
  }
}

TEST_F(ChunkedTest, TamperedChunkFailsSignature) {
  AuthResult auth = DocumentedAuth();
  std::string body = DocumentedChunkedBody();
  body[body.find("\r\n") + 100] = 'b';  // one byte of the first chunk's data
  FakeBodyReader raw(body, {4096});
  auto reader = verifier_.WrapBody(raw, auth, nullptr);
  EXPECT_EQ(Code(ReadAll(*reader)), "SignatureDoesNotMatch");

  // Reordering or dropping chunks breaks the chain too.
  std::string dropped =
      FormatChunk(std::string(1024, 'a'),
                  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497") +
      FormatChunk("", "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9") + "\r\n";
  FakeBodyReader raw2(dropped);
  auth.decoded_content_length.reset();
  auto reader2 = verifier_.WrapBody(raw2, auth, nullptr);
  EXPECT_EQ(Code(ReadAll(*reader2)), "SignatureDoesNotMatch");
}

TEST_F(ChunkedTest, BadFramingIsRejected) {
  AwsChunkedOptions unsigned_options;  // framing only
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"zz\r\nab\r\n0\r\n\r\n", "IncompleteBody"},   // not hex
      {"2\r\nabc\r\n0\r\n\r\n", "IncompleteBody"},   // data longer than declared
      {"3\r\nab", "IncompleteBody"},                 // truncated data
      {"2\r\nab\r\n", "IncompleteBody"},             // no final chunk
      {"2\r\nab\r\n0", "IncompleteBody"},            // truncated final line
      {"1000001\r\n", "InvalidChunkSizeError"},      // > 16 MiB
      {"ffffffffffffffffff\r\n", "IncompleteBody"},  // absurd size
      {std::string(5000, '1'), "IncompleteBody"},    // endless header line
      {"2\r\nab\r\n0\r\nno-colon-here\r\n\r\n", "IncompleteBody"},
  };
  for (const auto& [body, code] : cases) {
    FakeBodyReader raw(body, {3});
    AwsChunkedReader reader(raw, unsigned_options, nullptr);
    EXPECT_EQ(Code(ReadAll(reader)), code) << body.substr(0, 40);
  }
  // The errors are sticky.
  FakeBodyReader raw("zz\r\n");
  AwsChunkedReader reader(raw, unsigned_options, nullptr);
  EXPECT_FALSE(ReadAll(reader).ok());
  EXPECT_FALSE(ReadAll(reader).ok());
}

TEST_F(ChunkedTest, DecodedLengthMustMatch) {
  AwsChunkedOptions o;
  o.decoded_content_length = 5;
  for (std::string body : {"4\r\nabcd\r\n0\r\n\r\n", "6\r\nabcdef\r\n0\r\n\r\n"}) {
    FakeBodyReader raw(body);
    AwsChunkedReader reader(raw, o, nullptr);
    EXPECT_EQ(Code(ReadAll(reader)), "IncompleteBody") << body;
  }
  FakeBodyReader raw("5\r\nabcde\r\n0\r\n\r\n");
  AwsChunkedReader reader(raw, o, nullptr);
  EXPECT_EQ(*ReadAll(reader), "abcde");
}

TEST_F(ChunkedTest, UnsignedTrailerChecksumsAreStored) {
  const std::string data = "hello world";
  auto crc = crypto::Checksummer::Create(crypto::ChecksumAlgorithm::kCrc32);
  crc->Update(data);
  const std::string checksum = crypto::ChecksumBase64(*crc);
  ASSERT_EQ(checksum, "DUoRhQ==");
  const std::string body = FormatChunk(data.substr(0, 5), "") + FormatChunk(data.substr(5), "") +
                           "0\r\nx-amz-checksum-crc32:" + checksum + "\r\n\r\n";
  AuthResult auth;
  auth.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  auth.decoded_content_length = data.size();
  for (const auto& split : kSplits) {
    FakeBodyReader raw(body, split);
    http::Headers trailers;
    auto reader = verifier_.WrapBody(raw, auth, &trailers);
    Result<std::string> out = ReadAll(*reader, 3);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, data);
    ASSERT_NE(trailers.Get("x-amz-checksum-crc32"), nullptr);
    EXPECT_EQ(*trailers.Get("x-amz-checksum-crc32"), checksum);
  }
  // Some SDKs end right after the trailer line, without the blank line.
  FakeBodyReader raw(body.substr(0, body.size() - 2));
  http::Headers trailers;
  auto reader = verifier_.WrapBody(raw, auth, &trailers);
  EXPECT_TRUE(ReadAll(*reader).ok());
  EXPECT_EQ(trailers.GetOr("x-amz-checksum-crc32", ""), checksum);
}

TEST_F(ChunkedTest, SignedTrailerIsVerified) {
  const std::string trailer_text = "x-amz-checksum-crc32c:sOO8/Q==\n";
  const std::string body =
      SignedBody({std::string(65536, 'a'), std::string(1024, 'a')}, trailer_text, true);
  for (const auto& split : kSplits) {
    FakeBodyReader raw(body, split);
    http::Headers trailers;
    AwsChunkedReader reader(raw, SignedOptions(true), &trailers);
    Result<std::string> out = ReadAll(reader, 5000);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->size(), 66560u);
    EXPECT_EQ(trailers.GetOr("x-amz-checksum-crc32c", ""), "sOO8/Q==");
    EXPECT_FALSE(trailers.Has("x-amz-trailer-signature"));
  }
  // A changed checksum value no longer matches the trailer signature.
  std::string tampered = body;
  tampered.replace(tampered.find("sOO8/Q=="), 8, "AAAAAA==");
  FakeBodyReader raw(tampered);
  http::Headers trailers;
  AwsChunkedReader reader(raw, SignedOptions(true), &trailers);
  EXPECT_EQ(Code(ReadAll(reader)), "SignatureDoesNotMatch");
  EXPECT_FALSE(trailers.Has("x-amz-checksum-crc32c"));  // nothing stored on failure

  // A missing trailer signature is rejected in the signed-trailer mode.
  std::string unsigned_trailer = SignedBody({"abc"}, trailer_text, false);
  FakeBodyReader raw2(unsigned_trailer);
  AwsChunkedReader reader2(raw2, SignedOptions(true), nullptr);
  EXPECT_EQ(Code(ReadAll(reader2)), "SignatureDoesNotMatch");
}

TEST_F(ChunkedTest, SignedModeRequiresChunkSignatures) {
  FakeBodyReader raw("3\r\nabc\r\n0\r\n\r\n");
  AwsChunkedReader reader(raw, SignedOptions(false), nullptr);
  EXPECT_EQ(Code(ReadAll(reader)), "SignatureDoesNotMatch");
}

TEST_F(ChunkedTest, Sha256PayloadIsCheckedAtEnd) {
  const std::string body(100000, 'x');
  AuthResult auth;
  auth.payload_mode = PayloadMode::kSha256;
  auth.payload_sha256 = crypto::Sha256Hex(body);
  auth.content_length = body.size();
  for (const auto& split : kSplits) {
    FakeBodyReader raw(body, split);
    auto reader = verifier_.WrapBody(raw, auth, nullptr);
    EXPECT_EQ(ReadAll(*reader, 4096).value(), body);
  }
  FakeBodyReader wrong(std::string(100000, 'y'));
  auto reader = verifier_.WrapBody(wrong, auth, nullptr);
  EXPECT_EQ(Code(ReadAll(*reader)), "XAmzContentSHA256Mismatch");

  FakeBodyReader short_body(body.substr(1));
  auto reader2 = verifier_.WrapBody(short_body, auth, nullptr);
  EXPECT_EQ(Code(ReadAll(*reader2)), "IncompleteBody");

  auth.payload_mode = PayloadMode::kUnsigned;
  FakeBodyReader unsigned_body(std::string(100000, 'y'));
  auto reader3 = verifier_.WrapBody(unsigned_body, auth, nullptr);
  EXPECT_TRUE(ReadAll(*reader3).ok());
}

}  // namespace
}  // namespace annex::auth
