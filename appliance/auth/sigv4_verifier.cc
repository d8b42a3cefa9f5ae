#include "appliance/auth/sigv4_verifier.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <utility>

#include "appliance/auth/aws_chunked_reader.h"
#include "appliance/auth/payload_reader.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"

namespace annex::auth {
namespace {

constexpr auto kMaxSkew = std::chrono::minutes(15);

Status HeaderMalformed(std::string_view detail) {
  return http::ApiStatus("AuthorizationHeaderMalformed",
                         "The authorization header is malformed; " + std::string(detail));
}

Status QueryError(std::string message) {
  return http::ApiStatus("AuthorizationQueryParametersError", std::move(message));
}

Status UnsupportedScheme() {
  return http::ApiStatus("InvalidRequest",
                         "The authorization mechanism you have provided is not supported. "
                         "Please use AWS4-HMAC-SHA256.");
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Maps an x-amz-content-sha256 value to its payload mode.
std::optional<PayloadMode> PayloadModeFor(std::string_view value) {
  if (value == kUnsignedPayload) return PayloadMode::kUnsigned;
  if (value == kStreamingSignedPayload) return PayloadMode::kStreamingSigned;
  if (value == kStreamingSignedPayloadTrailer) return PayloadMode::kStreamingSignedTrailer;
  if (value == kStreamingUnsignedPayloadTrailer) return PayloadMode::kStreamingUnsignedTrailer;
  if (IsHex64(value)) return PayloadMode::kSha256;
  return std::nullopt;
}

bool HasSignedHeader(const std::vector<std::string>& names, std::string_view name) {
  for (const auto& n : names) {
    if (n == name) return true;
  }
  return false;
}

// Every x-amz-* header present must be signed, as S3 requires: an unsigned
// one (an ACL, a copy source, metadata) would let whoever replays a signed
// request within its validity change what the signer authorized. SDKs sign
// all of them (botocore, the JavaScript SDK v3, the Go SDKs and s3cmd leave
// out only user-agent, expect, x-amzn-trace-id and hop-by-hop headers).
Status CheckAmzHeadersSigned(const http::Request& request,
                             const std::vector<std::string>& signed_headers) {
  std::vector<std::string_view> unsigned_names;
  for (const auto& field : request.headers) {
    if (!StartsWith(field.name, "x-amz-") || HasSignedHeader(signed_headers, field.name)) continue;
    if (std::find(unsigned_names.begin(), unsigned_names.end(), field.name) == unsigned_names.end()) {
      unsigned_names.push_back(field.name);
    }
  }
  if (unsigned_names.empty()) return Status::OK();
  std::string names;
  for (std::string_view name : unsigned_names) {
    if (!names.empty()) names.append(", ");
    names.append(name);
  }
  return http::ApiStatus(
      "AccessDenied", "There were headers present in the request which were not signed: " + names);
}

std::optional<SystemTime> ClaimTime(const http::Request& request, std::string* amz_date) {
  if (const std::string* v = request.headers.Get("x-amz-date")) {
    *amz_date = *v;
    return ParseAmzDate(*v);
  }
  if (const std::string* v = request.headers.Get("date")) {
    std::optional<SystemTime> t = ParseHttpDate(*v);
    if (t) *amz_date = FormatAmzDate(*t);
    return t;
  }
  return std::nullopt;
}

}  // namespace

namespace internal {
// Views point into the request, which outlives the claim.
struct SigV4Claim {
  std::string_view access_key_id;
  CredentialScope scope;
  std::vector<std::string> signed_headers;
  std::string_view signature;
  std::string amz_date;  // may be formatted from a Date header
  SystemTime time;
  bool presigned = false;
  int64_t expires_seconds = 0;
  std::string_view session_token;
};

void SetCredential(SigV4Claim& claim, const CredentialParts& credential) {
  claim.access_key_id = credential.access_key_id;
  claim.scope = {std::string(credential.date), std::string(credential.region), std::string(credential.service)};
}
}  // namespace internal

namespace {

Result<internal::SigV4Claim> ParseHeaderClaim(const http::Request& request,
                                              std::string_view authorization);
Result<internal::SigV4Claim> ParsePresignedClaim(const http::Request& request);

}  // namespace

namespace {

// Derived keys change once a day per credential, but deriving one costs four
// HMACs; the cache makes verification one HMAC plus hashing. One cache per
// thread, so the request path takes no lock; a key depends only on the secret
// and the scope, so every verifier may share it. Cleared whole past
// kMaxCachedKeys: simpler than LRU, and the working set (keys × regions ×
// services for today) refills in a few requests.
constexpr size_t kMaxCachedKeys = 4096;

std::string CachedSigningKey(std::string_view secret, const CredentialScope& scope) {
  thread_local std::unordered_map<std::string, std::string> cache;
  thread_local std::string cache_key;  // reused: no allocation per lookup
  cache_key.clear();
  cache_key.append(secret).append("\n").append(scope.date).append("\n");
  cache_key.append(scope.region).append("\n").append(scope.service);
  auto it = cache.find(cache_key);
  if (it != cache.end()) return it->second;
  std::string key = DeriveSigningKey(secret, scope);
  if (cache.size() >= kMaxCachedKeys) cache.clear();
  cache.emplace(cache_key, key);
  return key;
}

}  // namespace

SigV4Verifier::SigV4Verifier(const CredentialLookup& credentials, const os::Clock& clock,
                             std::string region)
    : credentials_(credentials), clock_(clock), region_(std::move(region)) {}

SigV4Verifier::~SigV4Verifier() = default;

Result<AuthResult> SigV4Verifier::Verify(const http::Request& request,
                                         std::optional<std::string_view> body) const {
  return VerifyBodyDigest(request, body ? std::optional<std::string>(crypto::Sha256Hex(*body)) : std::nullopt);
}

Result<internal::SigV4Claim> SigV4Verifier::ParseClaim(const http::Request& request) const {
  const bool presigned = request.query.Has("X-Amz-Algorithm") ||
                         request.query.Has("X-Amz-Credential") ||
                         request.query.Has("X-Amz-Signature");
  if (const std::string* authorization = request.headers.Get("authorization")) {
    if (presigned) {
      return http::ApiStatus("InvalidArgument",
                             "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                             "parameter or the Authorization header should be specified");
    }
    if (!StartsWith(Trim(*authorization), kSigV4Algorithm)) return UnsupportedScheme();
    return ParseHeaderClaim(request, *authorization);
  }
  if (presigned) return ParsePresignedClaim(request);
  if (request.query.Has("AWSAccessKeyId")) return UnsupportedScheme();
  return http::ApiStatus("AccessDenied", "The request is not signed.");
}

Result<AuthResult> SigV4Verifier::VerifyBodyDigest(const http::Request& request,
                                                   std::optional<std::string> body_sha256) const {
  ANNEX_ASSIGN_OR_RETURN(internal::SigV4Claim claim, ParseClaim(request));
  return Authenticate(request, claim, body_sha256);
}

Status SigV4Verifier::VerifyHead(const http::Request& request) const {
  ANNEX_ASSIGN_OR_RETURN(internal::SigV4Claim claim, ParseClaim(request));
  return CheckClaim(claim).status();
}

namespace {

Result<internal::SigV4Claim> ParseHeaderClaim(const http::Request& request,
                                              std::string_view authorization) {
  std::optional<AuthorizationParts> parsed = SplitAuthorizationHeader(authorization);
  if (!parsed) {
    return HeaderMalformed(
        "expecting \"AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...\".");
  }
  internal::SigV4Claim claim;
  std::optional<CredentialParts> credential = SplitCredential(parsed->credential);
  if (!credential) {
    return HeaderMalformed(
        "the Credential is mal-formed; expecting "
        "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  internal::SetCredential(claim, *credential);
  std::optional<std::vector<std::string>> names = ParseSignedHeaders(parsed->signed_headers);
  if (!names) return HeaderMalformed("SignedHeaders is empty or mal-formed.");
  if (!HasSignedHeader(*names, "host")) return HeaderMalformed("the host header must be signed.");
  claim.signed_headers = std::move(*names);
  claim.signature = parsed->signature;
  std::optional<SystemTime> time = ClaimTime(request, &claim.amz_date);
  if (!time) {
    return http::ApiStatus("AccessDenied",
                           "AWS authentication requires a valid Date or x-amz-date header");
  }
  claim.time = *time;
  if (claim.scope.date != std::string_view(claim.amz_date).substr(0, 8)) {
    return HeaderMalformed("Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  ANNEX_RETURN_IF_ERROR(CheckAmzHeadersSigned(request, claim.signed_headers));
  claim.session_token = request.headers.GetOr("x-amz-security-token", "");
  return claim;
}

Result<internal::SigV4Claim> ParsePresignedClaim(const http::Request& request) {
  const std::string* algorithm = request.query.Get("X-Amz-Algorithm");
  const std::string* credential = request.query.Get("X-Amz-Credential");
  const std::string* date = request.query.Get("X-Amz-Date");
  const std::string* expires = request.query.Get("X-Amz-Expires");
  const std::string* signed_headers = request.query.Get("X-Amz-SignedHeaders");
  const std::string* signature = request.query.Get("X-Amz-Signature");
  if (!algorithm || !credential || !date || !expires || !signed_headers || !signature) {
    return QueryError(
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
  }
  if (*algorithm != kSigV4Algorithm) {
    return QueryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  internal::SigV4Claim claim;
  claim.presigned = true;
  std::optional<CredentialParts> parsed = SplitCredential(*credential);
  if (!parsed) {
    return QueryError(
        "X-Amz-Credential is mal-formed; expecting "
        "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  internal::SetCredential(claim, *parsed);
  std::optional<SystemTime> time = ParseAmzDate(*date);
  if (!time) {
    return QueryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  claim.time = *time;
  claim.amz_date = *date;
  // S3's answers: 0 is a URL that has already expired (AccessDenied below);
  // a negative or too long lifetime is refused as such.
  std::optional<uint64_t> seconds = ParseUint(*expires);
  if (!seconds) {
    if (StartsWith(*expires, "-") && ParseUint(std::string_view(*expires).substr(1))) {
      return QueryError("X-Amz-Expires must be non-negative");
    }
    return QueryError("X-Amz-Expires should be a number");
  }
  if (*seconds > static_cast<uint64_t>(kMaxPresignExpirySeconds)) {
    return QueryError(
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less "
        "than 604800 seconds");
  }
  claim.expires_seconds = static_cast<int64_t>(*seconds);
  std::optional<std::vector<std::string>> names = ParseSignedHeaders(*signed_headers);
  if (!names || !HasSignedHeader(*names, "host")) {
    return QueryError("X-Amz-SignedHeaders must list at least the host header.");
  }
  claim.signed_headers = std::move(*names);
  claim.signature = *signature;
  if (claim.scope.date != std::string_view(claim.amz_date).substr(0, 8)) {
    return QueryError("Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  ANNEX_RETURN_IF_ERROR(CheckAmzHeadersSigned(request, claim.signed_headers));
  if (const std::string* token = request.query.Get("X-Amz-Security-Token")) {
    claim.session_token = *token;
  }
  return claim;
}

// A signature scoped to another region was made for another endpoint; S3
// names the region it expects so that clients can correct themselves.
Status CheckRegion(const internal::SigV4Claim& claim, std::string_view expected) {
  if (expected.empty() || claim.scope.region == expected) return Status::OK();
  std::string detail = "the region '" + claim.scope.region + "' is wrong; expecting '" +
                       std::string(expected) + "'";
  if (claim.presigned) return QueryError("Error parsing the X-Amz-Credential parameter; " + detail);
  return HeaderMalformed(detail);
}

// Decides the payload hash that went into the canonical request.
// `body_sha256`: the hex digest of the whole body, when the caller read it.
Status ResolvePayload(const http::Request& request, const internal::SigV4Claim& claim,
                      const std::optional<std::string>& body_sha256, AuthResult& result) {
  const std::string* header = request.headers.Get("x-amz-content-sha256");
  const bool s3 = claim.scope.service == "s3";
  if (header == nullptr) {
    if (body_sha256) {
      result.payload_mode = PayloadMode::kSha256;
      result.payload_sha256 = *body_sha256;
    } else if (claim.presigned && s3) {
      result.payload_mode = PayloadMode::kUnsigned;
      result.payload_sha256 = std::string(kUnsignedPayload);
    } else if (!s3 && request.content_length.value_or(0) == 0 &&
               !request.headers.Has("transfer-encoding")) {
      result.payload_mode = PayloadMode::kSha256;
      result.payload_sha256 = std::string(kEmptyPayloadSha256);
    } else {
      return http::ApiStatus("InvalidRequest",
                             "Missing required header for this request: x-amz-content-sha256");
    }
    return Status::OK();
  }
  std::optional<PayloadMode> mode = PayloadModeFor(*header);
  if (!mode ||
      (claim.presigned && *mode != PayloadMode::kUnsigned && *mode != PayloadMode::kSha256)) {
    return http::ApiStatus("InvalidArgument",
                           "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value "
                           "or a valid sha256 value.");
  }
  result.payload_mode = *mode;
  result.payload_sha256 = *mode == PayloadMode::kSha256 ? ToLower(*header) : *header;
  if (*mode == PayloadMode::kSha256 && body_sha256 && *body_sha256 != result.payload_sha256) {
    return http::ApiStatus("XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was "
                           "computed.");
  }
  return Status::OK();
}

}  // namespace

Result<Credential> SigV4Verifier::CheckClaim(const internal::SigV4Claim& claim) const {
  ANNEX_RETURN_IF_ERROR(CheckRegion(claim, region_));
  const SystemTime now = clock_.Now();
  if (claim.presigned) {
    if (claim.time - now > kMaxSkew) {
      return http::ApiStatus("AccessDenied", "Request is not valid yet");
    }
    if (now > claim.time + std::chrono::seconds(claim.expires_seconds)) {
      return http::ApiStatus("AccessDenied", "Request has expired");
    }
  } else if (claim.time - now > kMaxSkew || now - claim.time > kMaxSkew) {
    return http::ApiStatus("RequestTimeTooSkewed",
                           "The difference between the request time and the current time is "
                           "too large.");
  }
  std::optional<Credential> credential = credentials_.Find(claim.access_key_id);
  if (!credential) {
    return http::ApiStatus("InvalidAccessKeyId",
                           "The AWS Access Key Id you provided does not exist in our records.");
  }
  ANNEX_RETURN_IF_ERROR(CheckSessionToken(*credential, claim.session_token, now));
  return std::move(*credential);
}

Result<AuthResult> SigV4Verifier::Authenticate(const http::Request& request,
                                               const internal::SigV4Claim& claim,
                                               const std::optional<std::string>& body_sha256) const {
  ANNEX_ASSIGN_OR_RETURN(Credential credential, CheckClaim(claim));
  AuthResult result;
  ANNEX_RETURN_IF_ERROR(ResolvePayload(request, claim, body_sha256, result));

  const CredentialScope& scope = claim.scope;
  result.scope = scope.ToString();
  result.signing_key = CachedSigningKey(credential.secret_access_key, scope);
  SignatureContext context{claim.signed_headers,
                           result.payload_sha256,
                           claim.amz_date,
                           result.scope,
                           result.signing_key,
                           UriStyleForService(scope.service),
                           claim.presigned ? "X-Amz-Signature" : ""};
  SignatureParts parts = ComputeSignature(request, context);
  if (!SignaturesEqual(parts.signature, claim.signature)) {
    return http::ApiStatus("SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your key and signing method.");
  }
  result.principal = std::move(credential.principal);
  result.principal.anonymous = false;
  if (result.principal.access_key_id.empty())
    result.principal.access_key_id = credential.access_key_id;
  result.service = scope.service;
  result.region = scope.region;
  result.seed_signature = std::string(claim.signature);
  result.amz_date = claim.amz_date;
  result.content_length = request.content_length;
  result.session_token = std::string(claim.session_token);
  result.presigned = claim.presigned;
  if (const std::string* decoded = request.headers.Get("x-amz-decoded-content-length")) {
    result.decoded_content_length = ParseUint(*decoded);
    if (!result.decoded_content_length) {
      return http::ApiStatus("InvalidArgument", "x-amz-decoded-content-length is not a number.");
    }
  }
  return result;
}

Result<Principal> SigV4Verifier::VerifyPostPolicy(std::string_view policy, const PostPolicySignature& form) const {
  if (form.algorithm != kSigV4Algorithm) {
    return QueryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  std::optional<CredentialParts> parsed = SplitCredential(form.credential);
  if (!parsed) {
    return QueryError(
        "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
        "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  internal::SigV4Claim claim;
  claim.presigned = true;
  internal::SetCredential(claim, *parsed);
  if (claim.scope.service != "s3") {
    return QueryError("Error parsing the X-Amz-Credential parameter; incorrect service \"" + claim.scope.service +
                      "\". This endpoint belongs to \"s3\".");
  }
  if (!ParseAmzDate(form.amz_date)) {
    return QueryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  if (claim.scope.date != form.amz_date.substr(0, 8)) {
    return QueryError("Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  ANNEX_RETURN_IF_ERROR(CheckRegion(claim, region_));
  std::optional<Credential> credential = credentials_.Find(claim.access_key_id);
  if (!credential) {
    return http::ApiStatus("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  }
  ANNEX_RETURN_IF_ERROR(CheckSessionToken(*credential, form.session_token, clock_.Now()));
  std::string signing_key = CachedSigningKey(credential->secret_access_key, claim.scope);
  if (!SignaturesEqual(SignatureHex(signing_key, policy), form.signature)) {
    return http::ApiStatus("SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your key and signing method.");
  }
  Principal principal = std::move(credential->principal);
  principal.anonymous = false;
  if (principal.access_key_id.empty()) principal.access_key_id = credential->access_key_id;
  return principal;
}

std::unique_ptr<http::BodyReader> SigV4Verifier::WrapBody(http::BodyReader& raw,
                                                          const AuthResult& auth,
                                                          http::Headers* trailers) const {
  switch (auth.payload_mode) {
    case PayloadMode::kUnsigned:
      return std::make_unique<PayloadReader>(raw, std::nullopt, auth.content_length);
    case PayloadMode::kSha256:
      return std::make_unique<PayloadReader>(raw, auth.payload_sha256, auth.content_length);
    case PayloadMode::kStreamingSigned:
    case PayloadMode::kStreamingSignedTrailer:
    case PayloadMode::kStreamingUnsignedTrailer:
      break;
  }
  AwsChunkedOptions options;
  options.signed_chunks = auth.payload_mode != PayloadMode::kStreamingUnsignedTrailer;
  options.signed_trailer = auth.payload_mode == PayloadMode::kStreamingSignedTrailer;
  options.signing_key = auth.signing_key;
  options.amz_date = auth.amz_date;
  options.scope = auth.scope;
  options.seed_signature = auth.seed_signature;
  options.decoded_content_length = auth.decoded_content_length;
  return std::make_unique<AwsChunkedReader>(raw, std::move(options), trailers);
}

bool IsSigV4Signed(const http::Request& request) {
  return request.headers.Has("authorization") || request.query.Has("X-Amz-Algorithm") ||
         request.query.Has("X-Amz-Credential") || request.query.Has("X-Amz-Signature") ||
         request.query.Has("AWSAccessKeyId");
}

std::string ScopeService(const http::Request& request) {
  std::optional<CredentialParts> credential;
  if (const std::string* authorization = request.headers.Get("authorization")) {
    if (auto parsed = SplitAuthorizationHeader(*authorization)) credential = SplitCredential(parsed->credential);
  } else if (const std::string* value = request.query.Get("X-Amz-Credential")) {
    credential = SplitCredential(*value);
  }
  return credential ? std::string(credential->service) : std::string();
}

}  // namespace annex::auth
