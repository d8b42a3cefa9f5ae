#include "appliance/auth/sigv4.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <openssl/crypto.h>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"

namespace annex::auth {
namespace {

std::string Hmac(std::string_view key, std::string_view data) {
  return std::string(crypto::AsBytes(crypto::HmacSha256(key, data)));
}

// RFC 3986 remove_dot_segments plus the collapsing of empty segments that
// the generic AWS services apply before signing.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  for (std::string_view segment : Split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(segments[i]);
  }
  if (!segments.empty() && path.size() > 1 && path.back() == '/') out.push_back('/');
  return out;
}

}  // namespace

UriStyle UriStyleForService(std::string_view service) {
  return service == "s3" || service == "s3express" ? UriStyle::kS3
                                                   : UriStyle::kNormalizeAndDoubleEncode;
}

std::string CredentialScope::ToString() const {
  static constexpr std::string_view kTerminator = "/aws4_request";
  std::string out;
  out.reserve(date.size() + region.size() + service.size() + 2 + kTerminator.size());
  out.append(date).append("/").append(region).append("/").append(service).append(kTerminator);
  return out;
}

namespace {

// A path made only of unreserved characters and '/', starting with '/'.
bool IsCanonicalS3Path(std::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') return false;
  for (char c : raw_path) {
    if (c != '/' && !IsUriUnreserved(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void AppendCanonicalHeaderValue(std::string& out, std::string_view value) {
  value = Trim(value);
  bool in_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

void AppendCanonicalHeaders(std::string& out, const http::Headers& headers,
                            std::span<const std::string> signed_headers) {
  for (const std::string& name : signed_headers) {
    out.append(name).push_back(':');
    bool first = true;
    for (const auto& field : headers) {
      if (field.name != name) continue;
      if (!first) out.push_back(',');
      AppendCanonicalHeaderValue(out, field.value);
      first = false;
    }
    out.push_back('\n');
  }
}

void AppendSignedHeaders(std::string& out, std::span<const std::string> signed_headers) {
  for (size_t i = 0; i < signed_headers.size(); ++i) {
    if (i > 0) out.push_back(';');
    out.append(signed_headers[i]);
  }
}

}  // namespace

std::string CanonicalUri(std::string_view raw_path, UriStyle style) {
  if (raw_path.empty()) return "/";
  std::string out;
  if (style == UriStyle::kS3) {
    // Clients differ in which reserved characters they escape on the wire
    // ('!', '(', '*'…), but all sign the key encoded once by the AWS rules:
    // decode whatever arrived and encode it the canonical way.
    std::optional<std::string> decoded = UriDecode(raw_path);
    out = UriEncode(decoded ? *decoded : raw_path, /*keep_slash=*/true);
  } else {
    out = UriEncode(NormalizePath(raw_path), /*keep_slash=*/true);
  }
  if (out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string CanonicalQueryString(const http::QueryParams& query, std::string_view exclude) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.params().size());
  for (const auto& [name, value] : query.params()) {
    if (!exclude.empty() && name == exclude) continue;
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendCanonicalHeaderValue(out, value);
  return out;
}

std::string CanonicalHeaders(const http::Headers& headers,
                             std::span<const std::string> signed_headers) {
  std::string out;
  AppendCanonicalHeaders(out, headers, signed_headers);
  return out;
}

std::string SignedHeadersString(std::span<const std::string> signed_headers) {
  std::string out;
  AppendSignedHeaders(out, signed_headers);
  return out;
}

std::optional<std::vector<std::string>> ParseSignedHeaders(std::string_view list) {
  std::vector<std::string> names;
  for (std::string_view name : Split(Trim(list), ';')) {
    if (name.empty()) return std::nullopt;
    names.push_back(ToLower(name));
  }
  return names;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out;
  out.reserve(kSigV4Algorithm.size() + amz_date.size() + scope.size() + 3 + 64);
  out.append(kSigV4Algorithm).push_back('\n');
  out.append(amz_date).push_back('\n');
  out.append(scope).push_back('\n');
  out.append(crypto::Sha256Hex(canonical_request));
  return out;
}

std::string DeriveSigningKey(std::string_view secret_access_key, const CredentialScope& scope) {
  std::string k = Hmac("AWS4" + std::string(secret_access_key), scope.date);
  k = Hmac(k, scope.region);
  k = Hmac(k, scope.service);
  return Hmac(k, "aws4_request");
}

std::string SignatureHex(std::string_view signing_key, std::string_view string_to_sign) {
  return HexEncode(crypto::AsBytes(crypto::HmacSha256(signing_key, string_to_sign)));
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  // Exact, as AWS compares: hex signatures are lower-case, and folding case
  // would also accept variants of a case-sensitive base64 (SigV2) signature.
  // CRYPTO_memcmp takes the same time wherever the two first differ; the
  // lengths are public (fixed by the algorithm), so checking them first leaks nothing.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SignatureParts ComputeSignature(const http::Request& request, const SignatureContext& context) {
  SignatureParts parts;
  // Built in one buffer: the canonical request of a GET is a few hundred bytes.
  std::string& out = parts.canonical_request;
  out.reserve(256 + request.raw_path.size() + request.raw_query.size() + context.signed_headers.size() * 64);
  out.append(request.method).push_back('\n');
  // S3's canonical URI of a path made only of unreserved characters and '/'
  // is the path itself: skip decoding and re-encoding it.
  if (context.uri_style == UriStyle::kS3 && IsCanonicalS3Path(request.raw_path)) {
    out.append(request.raw_path);
  } else {
    out.append(CanonicalUri(request.raw_path, context.uri_style));
  }
  out.push_back('\n');
  if (!request.query.params().empty()) out.append(CanonicalQueryString(request.query, context.exclude_query_param));
  out.push_back('\n');
  AppendCanonicalHeaders(out, request.headers, context.signed_headers);
  out.push_back('\n');
  AppendSignedHeaders(out, context.signed_headers);
  out.push_back('\n');
  out.append(context.payload_hash);
  parts.string_to_sign = StringToSign(context.amz_date, context.scope, parts.canonical_request);
  parts.signature = SignatureHex(context.signing_key, parts.string_to_sign);
  return parts;
}

std::string ChunkStringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view previous_signature,
                              std::string_view chunk_sha256_hex) {
  std::string out = "AWS4-HMAC-SHA256-PAYLOAD\n";
  out.append(amz_date).push_back('\n');
  out.append(scope).push_back('\n');
  out.append(previous_signature).push_back('\n');
  out.append(kEmptyPayloadSha256).push_back('\n');
  out.append(chunk_sha256_hex);
  return out;
}

std::string TrailerStringToSign(std::string_view amz_date, std::string_view scope,
                                std::string_view previous_signature,
                                std::string_view trailer_text) {
  std::string out = "AWS4-HMAC-SHA256-TRAILER\n";
  out.append(amz_date).push_back('\n');
  out.append(scope).push_back('\n');
  out.append(previous_signature).push_back('\n');
  out.append(crypto::Sha256Hex(trailer_text));
  return out;
}

ChunkSigner::ChunkSigner(std::string signing_key, std::string amz_date, std::string scope,
                         std::string seed_signature)
    : signing_key_(std::move(signing_key)),
      amz_date_(std::move(amz_date)),
      scope_(std::move(scope)),
      previous_(std::move(seed_signature)) {}

std::string ChunkSigner::SignChunk(std::string_view data) {
  previous_ = SignatureHex(
      signing_key_, ChunkStringToSign(amz_date_, scope_, previous_, crypto::Sha256Hex(data)));
  return previous_;
}

std::string ChunkSigner::SignTrailer(std::string_view trailer_text) {
  previous_ =
      SignatureHex(signing_key_, TrailerStringToSign(amz_date_, scope_, previous_, trailer_text));
  return previous_;
}

std::string FormatChunk(std::string_view data, std::string_view signature) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx", data.size());
  std::string out(size);
  if (!signature.empty()) out.append(";chunk-signature=").append(signature);
  out.append("\r\n");
  if (data.empty()) return out;
  out.append(data).append("\r\n");
  return out;
}

std::optional<CredentialParts> SplitCredential(std::string_view credential) {
  std::string_view parts[5];
  size_t n = 0, start = 0;
  while (true) {
    size_t slash = credential.find('/', start);
    if (n == 5) return std::nullopt;
    parts[n++] = credential.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (n != 5 || parts[4] != "aws4_request") return std::nullopt;
  for (size_t i = 0; i < 4; ++i) {
    if (parts[i].empty()) return std::nullopt;
  }
  if (parts[1].size() != 8 || !ParseUint(parts[1])) return std::nullopt;
  return CredentialParts{parts[0], parts[1], parts[2], parts[3]};
}

std::optional<ParsedCredential> ParseCredential(std::string_view credential) {
  std::optional<CredentialParts> parts = SplitCredential(credential);
  if (!parts) return std::nullopt;
  ParsedCredential out;
  out.access_key_id = std::string(parts->access_key_id);
  out.scope = {std::string(parts->date), std::string(parts->region), std::string(parts->service)};
  return out;
}

std::optional<ParsedAuthorization> ParseAuthorizationHeader(std::string_view value) {
  std::optional<AuthorizationParts> parts = SplitAuthorizationHeader(value);
  if (!parts) return std::nullopt;
  return ParsedAuthorization{std::string(parts->credential), std::string(parts->signed_headers),
                             std::string(parts->signature)};
}

std::optional<AuthorizationParts> SplitAuthorizationHeader(std::string_view value) {
  value = Trim(value);
  if (!StartsWith(value, kSigV4Algorithm)) return std::nullopt;
  value.remove_prefix(kSigV4Algorithm.size());
  if (!value.empty() && value.front() != ' ' && value.front() != '\t') return std::nullopt;
  AuthorizationParts out;
  bool seen[3] = {false, false, false};
  // Components are separated by ',' and/or whitespace; none contains either.
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) ++i;
    size_t start = i;
    while (i < value.size() && value[i] != ' ' && value[i] != '\t' && value[i] != ',') ++i;
    std::string_view token = value.substr(start, i - start);
    if (token.empty()) break;
    size_t eq = token.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = token.substr(0, eq);
    std::string_view v = token.substr(eq + 1);
    int slot = key == "Credential" ? 0 : key == "SignedHeaders" ? 1 : key == "Signature" ? 2 : -1;
    if (slot < 0 || seen[slot] || v.empty()) return std::nullopt;
    seen[slot] = true;
    (slot == 0 ? out.credential : slot == 1 ? out.signed_headers : out.signature) = v;
  }
  if (!seen[0] || !seen[1] || !seen[2]) return std::nullopt;
  return out;
}

}  // namespace annex::auth
