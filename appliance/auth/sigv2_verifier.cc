#include "appliance/auth/sigv2_verifier.h"

#include <algorithm>
#include <array>
#include <map>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"

namespace annex::auth {
namespace {

constexpr auto kMaxSkew = std::chrono::minutes(15);

// Sub-resources that V2 includes in the canonical resource, in sorted order.
constexpr std::array<std::string_view, 31> kSubResources = {
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
    "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "restore", "select",
    "select-type", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions",
    "website", "encryption", "object-lock", "legal-hold", "retention"};

Status Mismatch() {
  return http::ApiStatus("SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature you provided.");
}

}  // namespace

bool IsSigV2Signed(const http::Request& request) {
  if (const std::string* a = request.headers.Get("authorization")) return StartsWith(*a, "AWS ");
  return request.query.Has("AWSAccessKeyId") && request.query.Has("Signature");
}

SigV2Verifier::SigV2Verifier(const CredentialLookup& credentials, const os::Clock& clock,
                             std::vector<std::string> virtual_host_suffixes)
    : credentials_(credentials), clock_(clock), suffixes_(std::move(virtual_host_suffixes)) {}

std::string SigV2Verifier::CanonicalResource(const http::Request& request) const {
  std::string out;
  std::string host = request.HostWithoutPort();
  for (const auto& suffix : suffixes_) {
    if (host.size() > suffix.size() + 1 && host.ends_with("." + suffix)) {
      out = "/" + host.substr(0, host.size() - suffix.size() - 1);
      break;
    }
  }
  out += request.raw_path.empty() ? "/" : request.raw_path;
  std::vector<std::pair<std::string, std::string>> subs;
  for (const auto& [name, value] : request.query.params()) {
    if (std::find(kSubResources.begin(), kSubResources.end(), name) != kSubResources.end()) {
      subs.emplace_back(name, value);
    }
  }
  std::sort(subs.begin(), subs.end());
  for (size_t i = 0; i < subs.size(); ++i) {
    out += i == 0 ? "?" : "&";
    out += subs[i].first;
    if (!subs[i].second.empty()) out += "=" + subs[i].second;
  }
  return out;
}

std::string SigV2Verifier::StringToSign(const http::Request& request, std::string_view date_or_expires) const {
  std::string s = request.method + "\n";
  s += request.headers.GetOr("content-md5", "");
  s += "\n";
  s += request.headers.GetOr("content-type", "");
  s += "\n";
  s += date_or_expires;
  s += "\n";
  std::map<std::string, std::string> amz;  // sorted by lower-case name
  for (const auto& f : request.headers) {
    if (!StartsWith(f.name, "x-amz-")) continue;
    std::string& v = amz[f.name];
    if (!v.empty()) v += ",";
    v += std::string(Trim(f.value));
  }
  // A presigned URL carries its x-amz-* "headers" (the session token) in the query.
  if (!request.headers.Has("authorization")) {
    for (const auto& [name, value] : request.query.params()) {
      std::string lower = ToLower(name);
      if (!StartsWith(lower, "x-amz-")) continue;
      std::string& v = amz[lower];
      if (!v.empty()) v += ",";
      v += std::string(Trim(value));
    }
  }
  for (const auto& [name, value] : amz) s += name + ":" + value + "\n";
  s += CanonicalResource(request);
  return s;
}

Result<AuthResult> SigV2Verifier::Verify(const http::Request& request) const {
  std::string access_key, signature, date_line;
  auto now = clock_.Now();
  if (const std::string* a = request.headers.Get("authorization")) {
    std::string_view v = std::string_view(*a).substr(4);
    size_t colon = v.rfind(':');
    if (colon == std::string_view::npos) {
      return http::ApiStatus("InvalidArgument", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
    }
    access_key = std::string(Trim(v.substr(0, colon)));
    signature = std::string(Trim(v.substr(colon + 1)));
    const std::string* date = request.headers.Get("x-amz-date");
    if (!date) date = request.headers.Get("date");
    if (!date) return http::ApiStatus("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    auto when = ParseHttpDate(*date);
    if (!when) return http::ApiStatus("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    if (*when > now + kMaxSkew || *when < now - kMaxSkew) {
      return http::ApiStatus("RequestTimeTooSkewed",
                             "The difference between the request time and the current time is too large.");
    }
    // With x-amz-date the Date line is empty: the header is signed among the x-amz-* ones.
    date_line = request.headers.Has("x-amz-date") ? "" : *date;
  } else {
    access_key = *request.query.Get("AWSAccessKeyId");
    signature = *request.query.Get("Signature");
    const std::string* expires = request.query.Get("Expires");
    auto epoch = expires ? ParseUint(*expires) : std::nullopt;
    if (!epoch) return http::ApiStatus("AccessDenied", "Query-string authentication requires the Expires parameter");
    if (os::SystemTime(std::chrono::seconds(*epoch)) < now) return http::ApiStatus("AccessDenied", "Request has expired");
    date_line = *expires;
  }
  auto credential = credentials_.Find(access_key);
  if (!credential) {
    return http::ApiStatus("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  }
  const std::string* token = request.headers.Get("x-amz-security-token");
  if (!token) token = request.query.Get("x-amz-security-token");
  ANNEX_RETURN_IF_ERROR(CheckSessionToken(*credential, token ? *token : std::string_view(), now));
  std::string expected = Base64Encode(crypto::HmacSha1(credential->secret_access_key, StringToSign(request, date_line)));
  if (!SignaturesEqual(expected, signature)) return Mismatch();
  AuthResult result;
  result.principal = credential->principal;
  result.service = "s3";
  result.payload_mode = PayloadMode::kUnsigned;
  result.content_length = request.content_length;
  result.presigned = !request.headers.Has("authorization");
  return result;
}

Result<Principal> SigV2Verifier::VerifyPostPolicy(std::string_view policy, std::string_view access_key_id,
                                                  std::string_view signature, std::string_view session_token) const {
  auto credential = credentials_.Find(access_key_id);
  if (!credential) {
    return http::ApiStatus("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  }
  ANNEX_RETURN_IF_ERROR(CheckSessionToken(*credential, session_token, clock_.Now()));
  std::string expected = Base64Encode(crypto::HmacSha1(credential->secret_access_key, policy));
  if (!SignaturesEqual(expected, signature)) return Mismatch();
  Principal principal = std::move(credential->principal);
  principal.anonymous = false;
  if (principal.access_key_id.empty()) principal.access_key_id = credential->access_key_id;
  return principal;
}

}  // namespace annex::auth
