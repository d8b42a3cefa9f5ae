#pragma once
// SigV4: the AWS Signature Version 4 algorithm as pure functions, shared by
// the server-side verifier (sigv4_verifier.h) and by our own clients (the
// benchmark load generator, integration tests), so both sides compute the
// canonical request the same way.
//
//   canonical request = method \n uri \n query \n headers \n signed-headers \n payload-hash
//   string to sign    = AWS4-HMAC-SHA256 \n amz-date \n scope \n hex(sha256(canonical request))
//   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
//   "aws4_request") signature         = hex(HMAC(signing key, string to sign))
//
// aws-chunked bodies chain one signature per chunk from the seed (header)
// signature, and optionally sign trailing headers (ChunkSignature,
// TrailerSignature).
//
// Everything here is stateless and thread-compatible. Signing keys and
// signatures are raw bytes / lower-case hex as noted.

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "appliance/http/query.h"
#include "appliance/http/request.h"

namespace annex::auth {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedPayloadTrailer =
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
// sha256("") in hex: the payload hash of every bodiless request.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// Presigned URLs may live at most a week.
inline constexpr int64_t kMaxPresignExpirySeconds = 604800;

// How the path enters the canonical request. S3 signs the path as the object
// key reads (decoded, then encoded once, dot segments kept); every other
// service normalizes the path and encodes the already-encoded wire form again.
enum class UriStyle { kS3, kNormalizeAndDoubleEncode };
UriStyle UriStyleForService(std::string_view service);

// "20130524/us-east-1/s3/aws4_request", split.
struct CredentialScope {
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;
  std::string ToString() const;
};

// ---- canonical request ------------------------------------------------------

// `raw_path` is the path as sent on the wire (still percent-encoded).
std::string CanonicalUri(std::string_view raw_path, UriStyle style);
// Name=value pairs URI-encoded, sorted by encoded name then value, joined by
// '&'. A parameter named `exclude` (X-Amz-Signature for presigned URLs) is left out.
std::string CanonicalQueryString(const http::QueryParams& query, std::string_view exclude = {});
// Trims the value and collapses runs of spaces/tabs into one space.
std::string CanonicalHeaderValue(std::string_view value);
// "name:value\n" for each of `signed_headers` (lower-case, in the order
// given); repeated fields are joined with ',' and absent ones are empty.
std::string CanonicalHeaders(const http::Headers& headers,
                             std::span<const std::string> signed_headers);
// Joins lower-case names with ';'.
std::string SignedHeadersString(std::span<const std::string> signed_headers);
// Splits "host;x-amz-date" into names; nullopt when empty or a name is empty.
std::optional<std::vector<std::string>> ParseSignedHeaders(std::string_view list);

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// ---- keys and signatures ------------------------------------------------------

// The derived signing key (32 raw bytes).
std::string DeriveSigningKey(std::string_view secret_access_key, const CredentialScope& scope);
// hex(HMAC-SHA256(signing_key, string_to_sign)).
std::string SignatureHex(std::string_view signing_key, std::string_view string_to_sign);
// Constant-time, exact comparison of two signatures: upper-case hex does not
// match the lower-case hex SigV4 produces.
bool SignaturesEqual(std::string_view a, std::string_view b);

// The three stages of one signature, kept for tests and error diagnostics.
struct SignatureParts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// Everything that determines a request signature besides the request itself.
struct SignatureContext {
  std::span<const std::string> signed_headers;  // lower-case
  std::string_view payload_hash;                // hex digest or a literal mode
  std::string_view amz_date;                    // 20130524T000000Z
  std::string_view scope;                       // CredentialScope::ToString()
  std::string_view signing_key;                 // DeriveSigningKey()
  UriStyle uri_style = UriStyle::kS3;
  std::string_view exclude_query_param;  // "X-Amz-Signature" when presigned
};
// Computes the signature of `request` (method, raw_path, query, headers).
SignatureParts ComputeSignature(const http::Request& request, const SignatureContext& context);

// ---- aws-chunked ---------------------------------------------------------------

// AWS4-HMAC-SHA256-PAYLOAD \n date \n scope \n previous \n sha256("") \n sha256(chunk)
std::string ChunkStringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view previous_signature,
                              std::string_view chunk_sha256_hex);
// AWS4-HMAC-SHA256-TRAILER \n date \n scope \n previous \n sha256(trailer_text)
// where `trailer_text` is "name:value\n" per trailing header.
std::string TrailerStringToSign(std::string_view amz_date, std::string_view scope,
                                std::string_view previous_signature, std::string_view trailer_text);

// Client side of a signed aws-chunked body: each call returns the signature
// of the next chunk, chained from the seed signature.
class ChunkSigner {
 public:
  ChunkSigner(std::string signing_key, std::string amz_date, std::string scope,
              std::string seed_signature);
  std::string SignChunk(std::string_view data);
  // Signs "name:value\n" trailer text; call after the final (empty) chunk.
  std::string SignTrailer(std::string_view trailer_text);

 private:
  std::string signing_key_;
  std::string amz_date_;
  std::string scope_;
  std::string previous_;
};

// "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n" (an empty `signature`
// omits the extension, as unsigned-trailer bodies do). An empty `data` makes
// the final chunk's header line only: "0;chunk-signature=<sig>\r\n".
std::string FormatChunk(std::string_view data, std::string_view signature);

// ---- client-side signing ---------------------------------------------------------

struct SigningCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional; sent as X-Amz-Security-Token
};

struct SignOptions {
  std::string region = "us-east-1";
  std::string service = "s3";
  std::chrono::system_clock::time_point time;
  // Hex sha256 of the body, kUnsignedPayload or a streaming mode; empty
  // means a bodiless request (kEmptyPayloadSha256).
  std::string payload_hash;
  // S3 requires x-amz-content-sha256; the generic services do not send it.
  bool add_content_sha256_header = true;
};

// Signs `request` in place: sets x-amz-date, x-amz-content-sha256 (per
// options), x-amz-security-token (when given) and Authorization. Every
// header present is signed except transport hop-by-hop ones (user-agent,
// expect, connection, transfer-encoding, authorization).
// REQUIRES: request has a host header and raw_path/query filled in.
SignatureParts SignRequest(http::Request& request, const SigningCredentials& credentials,
                           const SignOptions& options);

struct PresignOptions {
  std::string region = "us-east-1";
  std::string service = "s3";
  std::chrono::system_clock::time_point time;
  int64_t expires_seconds = 3600;  // 1..kMaxPresignExpirySeconds
  // UNSIGNED-PAYLOAD is what S3 presigners use; other services sign sha256("").
  std::string payload_hash = std::string(kUnsignedPayload);
  // Signed besides host (lower-case names of headers present on the request).
  std::vector<std::string> extra_signed_headers;
};

// Adds the X-Amz-* parameters (signature last) to request.query and rewrites
// raw_query and target so `target` is the URL path+query to hand out.
// InvalidArgument when expires_seconds is out of range.
Result<SignatureParts> PresignRequest(http::Request& request, const SigningCredentials& credentials,
                                      const PresignOptions& options);

// Rebuilds `raw_query` (and target) from `query`, encoding per SigV4 rules;
// for clients that construct a Request by hand.
void RebuildRawQuery(http::Request& request);

// ---- parsing ---------------------------------------------------------------

// "AKID/20130524/us-east-1/s3/aws4_request".
struct ParsedCredential {
  std::string access_key_id;
  CredentialScope scope;
};
std::optional<ParsedCredential> ParseCredential(std::string_view credential);

// The parts of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
// Tolerates the spacing and comma variations SDKs produce.
struct ParsedAuthorization {
  std::string credential;
  std::string signed_headers;
  std::string signature;
};
// nullopt when the algorithm is not AWS4-HMAC-SHA256 or a component is
// missing or repeated.
std::optional<ParsedAuthorization> ParseAuthorizationHeader(std::string_view value);

// The same parses as views into the text (for the per-request hot path).
struct CredentialParts {
  std::string_view access_key_id, date, region, service;
};
std::optional<CredentialParts> SplitCredential(std::string_view credential);
struct AuthorizationParts {
  std::string_view credential, signed_headers, signature;
};
std::optional<AuthorizationParts> SplitAuthorizationHeader(std::string_view value);

}  // namespace annex::auth
