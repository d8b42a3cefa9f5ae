#pragma once
// SigV4Verifier: authenticates an incoming request signed with AWS Signature
// Version 4 — Authorization header or presigned query string — and prepares
// the verification of its payload.
//
// Verify() checks everything knowable from the head (credential, scope and
// region, date/skew, expiry, that every x-amz-* header is signed, signature).
// The payload is checked while it streams: WrapBody() returns a BodyReader
// that verifies x-amz-content-sha256, or decodes aws-chunked framing
// (verifying each chunk signature and the trailer), so a bad body fails on
// its last Read() before anything is stored.
//
// Errors are Status values carrying the S3 error code as subcode:
// InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed,
// AccessDenied (expired presigned URL, unsigned x-amz-* header),
// AuthorizationHeaderMalformed (also: wrong region),
// AuthorizationQueryParametersError, XAmzContentSHA256Mismatch,
// IncompleteBody, InvalidChunkSizeError.
//
// Payload hash. S3 clients send x-amz-content-sha256 with every header-signed
// request. The Query/JSON services (IAM, STS, RDS…) do not: they sign
// sha256(body). For those, the edge reads the small body first (≤ 1 MiB) and
// passes it to Verify(request, body), which hashes it (and, when the header
// is present, checks it right away); a larger body is spooled to disk and
// hashed as it streams, and its digest goes to VerifyBodyDigest. Without a body, a header-signed request
// lacking x-amz-content-sha256 is rejected (S3's InvalidRequest) unless it
// carries no body at all (no Content-Length or 0) and is not for S3, in
// which case sha256("") is assumed.
//
// Thread-safe: the signing-key cache is per thread.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/auth/credentials.h"
#include "appliance/auth/sigv4.h"
#include "appliance/core/result.h"
#include "appliance/http/exchange.h"
#include "appliance/os/clock.h"

namespace annex::auth {

enum class PayloadMode {
  kUnsigned,                  // UNSIGNED-PAYLOAD, or presigned URL
  kSha256,                    // x-amz-content-sha256 is the hex digest of the body
  kStreamingSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kStreamingSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  kStreamingUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

struct AuthResult {
  Principal principal;
  std::string service;  // from the credential scope, e.g. "s3"
  std::string region;
  PayloadMode payload_mode = PayloadMode::kUnsigned;
  std::string payload_sha256;  // kSha256: expected hex digest
  // For streaming signed payloads: the seed signature and the signing material.
  std::string seed_signature;
  std::string signing_key;  // derived key (raw bytes)
  std::string amz_date;     // 20130524T000000Z
  std::string scope;        // 20130524/us-east-1/s3/aws4_request
  // aws-chunked: x-amz-decoded-content-length, when given.
  std::optional<uint64_t> decoded_content_length;
  // Content-Length of the request, checked by WrapBody for single-chunk bodies.
  std::optional<uint64_t> content_length;
  // X-Amz-Security-Token (header or presigned query), for the caller to
  // validate against temporary credentials; empty when absent.
  std::string session_token;
  bool presigned = false;
};

// True when the request claims to be signed: any Authorization header, or a
// presigned query (X-Amz-Algorithm / X-Amz-Credential / X-Amz-Signature, or
// SigV2's AWSAccessKeyId). Verify() then rejects non-SigV4 schemes instead of
// letting the caller serve a signed request anonymously.
bool IsSigV4Signed(const http::Request& request);
// The service name of the credential scope (header or presigned), or "" when unsigned.
std::string ScopeService(const http::Request& request);

namespace internal {
// What a request claims about itself; parsed in sigv4_verifier.cc.
struct SigV4Claim;
}  // namespace internal

// The SigV4 fields of a browser form upload (S3 POST Object). They sign the
// base64 policy document itself, with the signing key of the credential's
// scope; the form's other fields are bound by the policy's conditions.
struct PostPolicySignature {
  std::string_view algorithm;      // x-amz-algorithm
  std::string_view credential;     // x-amz-credential: AKID/date/region/s3/aws4_request
  std::string_view amz_date;       // x-amz-date
  std::string_view signature;      // x-amz-signature
  std::string_view session_token;  // x-amz-security-token; empty when absent
};

class SigV4Verifier {
 public:
  // `region`, when not empty, is the only region a credential scope may name
  // (others are AuthorizationHeaderMalformed, or AuthorizationQueryParametersError
  // for presigned URLs); empty accepts any region.
  SigV4Verifier(const CredentialLookup& credentials, const os::Clock& clock,
                std::string region = {});
  ~SigV4Verifier();

  // Authenticates `request`. Unsigned requests are an error here; the caller
  // decides whether to serve them anonymously (IsSigV4Signed first).
  // `body`, when given, is the complete request body (see "Payload hash"
  // above); a kSha256 payload is then already checked and WrapBody is optional.
  Result<AuthResult> Verify(const http::Request& request,
                            std::optional<std::string_view> body = std::nullopt) const;
  // Verify() for a body too large to hold: `body_sha256` is the lower-case
  // hex SHA-256 of the complete body, computed while it streamed.
  Result<AuthResult> VerifyBodyDigest(const http::Request& request, std::optional<std::string> body_sha256) const;
  // Everything Verify checks before the signature itself: the scheme and
  // its fields, region, time and expiry, that the access key exists. Lets a
  // caller refuse a request before reading a large body for its digest.
  Status VerifyHead(const http::Request& request) const;

  // Who signed the `policy` field of a form upload (the text as sent): the
  // credential's scope and key are checked as for a presigned URL
  // (AuthorizationQueryParametersError, InvalidAccessKeyId, InvalidToken,
  // SignatureDoesNotMatch); the policy's own expiration replaces X-Amz-Expires.
  Result<Principal> VerifyPostPolicy(std::string_view policy, const PostPolicySignature& form) const;

  // A reader over `raw` that yields the decoded, verified payload: kSha256
  // and kUnsigned bodies pass through PayloadReader (digest and
  // Content-Length checked at the end), the streaming modes through
  // AwsChunkedReader. For trailer modes, the trailing headers are stored in
  // `*trailers` when the body completes. `raw` and `trailers` must outlive
  // the returned reader.
  std::unique_ptr<http::BodyReader> WrapBody(http::BodyReader& raw, const AuthResult& auth,
                                             http::Headers* trailers) const;

 private:
  Result<internal::SigV4Claim> ParseClaim(const http::Request& request) const;
  // Region, time and expiry; the caller's credential.
  Result<Credential> CheckClaim(const internal::SigV4Claim& claim) const;
  Result<AuthResult> Authenticate(const http::Request& request, const internal::SigV4Claim& claim,
                                  const std::optional<std::string>& body_sha256) const;

  const CredentialLookup& credentials_;
  const os::Clock& clock_;
  const std::string region_;
};

}  // namespace annex::auth
