// The client-side half of sigv4.h: SignRequest, PresignRequest and
// RebuildRawQuery, used by our load generator and tests to act as an SDK.

#include <algorithm>
#include <string>

#include "appliance/auth/sigv4.h"
#include "appliance/core/strings.h"

namespace annex::auth {
namespace {

// Headers SDKs leave unsigned: proxies and the transport may rewrite them.
bool IsUnsignedHeader(std::string_view name) {
  return name == "authorization" || name == "user-agent" || name == "expect" ||
         name == "connection" || name == "transfer-encoding" || name == "x-amzn-trace-id";
}

std::vector<std::string> SortedUnique(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

CredentialScope ScopeFor(std::chrono::system_clock::time_point time, const std::string& region,
                         const std::string& service) {
  return {FormatAmzDate(time).substr(0, 8), region, service};
}

}  // namespace

void RebuildRawQuery(http::Request& request) {
  std::string raw;
  for (const auto& [name, value] : request.query.params()) {
    if (!raw.empty()) raw.push_back('&');
    raw.append(UriEncode(name, false)).append("=").append(UriEncode(value, false));
  }
  request.raw_query = std::move(raw);
  request.target = request.raw_path.empty() ? "/" : request.raw_path;
  if (!request.raw_query.empty()) request.target += "?" + request.raw_query;
}

SignatureParts SignRequest(http::Request& request, const SigningCredentials& credentials,
                           const SignOptions& options) {
  const std::string amz_date = FormatAmzDate(options.time);
  const std::string payload_hash =
      options.payload_hash.empty() ? std::string(kEmptyPayloadSha256) : options.payload_hash;
  request.headers.Remove("authorization");
  request.headers.Set("x-amz-date", amz_date);
  if (options.add_content_sha256_header) {
    request.headers.Set("x-amz-content-sha256", payload_hash);
  }
  if (!credentials.session_token.empty()) {
    request.headers.Set("x-amz-security-token", credentials.session_token);
  }
  std::vector<std::string> names;
  for (const auto& field : request.headers) {
    if (!IsUnsignedHeader(field.name)) names.push_back(field.name);
  }
  names = SortedUnique(std::move(names));

  const CredentialScope scope = ScopeFor(options.time, options.region, options.service);
  const std::string scope_text = scope.ToString();
  const std::string key = DeriveSigningKey(credentials.secret_access_key, scope);
  SignatureContext context{
      names, payload_hash, amz_date, scope_text, key, UriStyleForService(options.service), {}};
  SignatureParts parts = ComputeSignature(request, context);
  request.headers.Set("authorization",
                      std::string(kSigV4Algorithm) + " Credential=" + credentials.access_key_id +
                          "/" + scope_text + ", SignedHeaders=" + SignedHeadersString(names) +
                          ", Signature=" + parts.signature);
  return parts;
}

Result<SignatureParts> PresignRequest(http::Request& request, const SigningCredentials& credentials,
                                      const PresignOptions& options) {
  if (options.expires_seconds < 1 || options.expires_seconds > kMaxPresignExpirySeconds) {
    return Status::InvalidArgument("presign expiry must be 1.." +
                                   std::to_string(kMaxPresignExpirySeconds) + " seconds");
  }
  std::vector<std::string> names = options.extra_signed_headers;
  names.push_back("host");
  names = SortedUnique(std::move(names));

  const std::string amz_date = FormatAmzDate(options.time);
  const CredentialScope scope = ScopeFor(options.time, options.region, options.service);
  const std::string scope_text = scope.ToString();
  request.query.Add("X-Amz-Algorithm", std::string(kSigV4Algorithm));
  request.query.Add("X-Amz-Credential", credentials.access_key_id + "/" + scope_text);
  request.query.Add("X-Amz-Date", amz_date);
  request.query.Add("X-Amz-Expires", std::to_string(options.expires_seconds));
  if (!credentials.session_token.empty()) {
    request.query.Add("X-Amz-Security-Token", credentials.session_token);
  }
  request.query.Add("X-Amz-SignedHeaders", SignedHeadersString(names));

  const std::string key = DeriveSigningKey(credentials.secret_access_key, scope);
  SignatureContext context{
      names, options.payload_hash, amz_date, scope_text, key, UriStyleForService(options.service),
      {}};
  SignatureParts parts = ComputeSignature(request, context);
  request.query.Add("X-Amz-Signature", parts.signature);
  RebuildRawQuery(request);
  return parts;
}

}  // namespace annex::auth
