#include "services/objectstore/object_headers.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {
namespace {

constexpr std::string_view kMetaPrefix = "x-amz-meta-";
constexpr std::string_view kChecksumPrefix = "x-amz-checksum-";

// Content-Encoding minus the aws-chunked transfer token SDKs add.
std::string StripAwsChunked(std::string_view value) {
  std::string out;
  for (std::string_view token : Split(value, ',')) {
    token = Trim(token);
    if (token.empty() || EqualsIgnoreCase(token, "aws-chunked")) continue;
    if (!out.empty()) out += ",";
    out.append(token);
  }
  return out;
}

Status InvalidChecksumRequest(std::string message) { return http::ApiStatus("InvalidRequest", std::move(message)); }

}  // namespace

Result<ObjectMetadata> ParseObjectMetadata(const http::Headers& headers) {
  ObjectMetadata m;
  m.content_type = std::string(headers.GetOr("content-type", kDefaultContentType));
  if (m.content_type.empty()) m.content_type = kDefaultContentType;
  m.content_encoding = StripAwsChunked(headers.GetOr("content-encoding", ""));
  m.content_disposition = std::string(headers.GetOr("content-disposition", ""));
  m.content_language = std::string(headers.GetOr("content-language", ""));
  m.cache_control = std::string(headers.GetOr("cache-control", ""));
  m.expires = std::string(headers.GetOr("expires", ""));
  size_t total = 0;
  for (const auto& f : headers) {
    if (!StartsWith(f.name, kMetaPrefix)) continue;
    std::string name = f.name.substr(kMetaPrefix.size());
    total += name.size() + f.value.size();
    m.user.emplace_back(std::move(name), f.value);
  }
  if (total > kMaxUserMetadataBytes) {
    return http::ApiStatus("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size");
  }
  return m;
}

Result<std::string> ParseWebsiteRedirect(const http::Headers& headers) {
  const std::string* redirect = headers.Get("x-amz-website-redirect-location");
  if (!redirect) return std::string();
  if (!StartsWith(*redirect, "/") && !StartsWith(*redirect, "http://") && !StartsWith(*redirect, "https://")) {
    return http::ApiStatus("InvalidRedirectLocation",
                           "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.");
  }
  return *redirect;
}

void AddObjectHeaders(const ObjectRecord& o, http::Headers& out) {
  out.Set("etag", QuoteEtag(o.etag));
  out.Set("last-modified", HttpDate(o.modified_ms));
  out.Set("accept-ranges", "bytes");
  out.Set("content-type", o.meta.content_type.empty() ? kDefaultContentType : std::string_view(o.meta.content_type));
  if (!o.meta.content_encoding.empty()) out.Set("content-encoding", o.meta.content_encoding);
  if (!o.meta.content_disposition.empty()) out.Set("content-disposition", o.meta.content_disposition);
  if (!o.meta.content_language.empty()) out.Set("content-language", o.meta.content_language);
  if (!o.meta.cache_control.empty()) out.Set("cache-control", o.meta.cache_control);
  if (!o.meta.expires.empty()) out.Set("expires", o.meta.expires);
  for (const auto& [name, value] : o.meta.user) out.Add(std::string(kMetaPrefix) + name, value);
  if (!o.tags.empty()) out.Set("x-amz-tagging-count", std::to_string(o.tags.size()));
  if (!o.website_redirect.empty()) out.Set("x-amz-website-redirect-location", o.website_redirect);
  AddObjectLockHeaders(o.lock, out);
}

std::string_view ChecksumTypeName(ChecksumType type) {
  return type == ChecksumType::kFullObject ? "FULL_OBJECT" : "COMPOSITE";
}

std::optional<ChecksumType> ParseChecksumType(std::string_view name) {
  if (EqualsIgnoreCase(name, "COMPOSITE")) return ChecksumType::kComposite;
  if (EqualsIgnoreCase(name, "FULL_OBJECT")) return ChecksumType::kFullObject;
  return std::nullopt;
}

bool ChecksumTypeAllowed(crypto::ChecksumAlgorithm algorithm, ChecksumType type) {
  if (type == ChecksumType::kFullObject) return crypto::IsCrc(algorithm);
  return algorithm != crypto::ChecksumAlgorithm::kCrc64Nvme;
}

ChecksumType DefaultChecksumType(crypto::ChecksumAlgorithm algorithm) {
  return algorithm == crypto::ChecksumAlgorithm::kCrc64Nvme ? ChecksumType::kFullObject : ChecksumType::kComposite;
}

std::optional<ChecksumType> ObjectChecksumType(const ObjectRecord& o) {
  if (o.checksum_algorithm.empty() || o.checksum_value.empty()) return std::nullopt;
  return ChecksumWithoutPartCount(o.checksum_value).size() == o.checksum_value.size() ? ChecksumType::kFullObject
                                                                                      : ChecksumType::kComposite;
}

std::string_view ChecksumWithoutPartCount(std::string_view value) {
  // Base64 never holds '-', so a dash can only start the part count.
  size_t dash = value.rfind('-');
  return dash == std::string_view::npos ? value : value.substr(0, dash);
}

void AddChecksumHeader(const ObjectRecord& o, std::optional<uint32_t> part, http::Headers& out) {
  auto alg = crypto::ParseChecksumAlgorithm(o.checksum_algorithm);
  std::optional<ChecksumType> type = ObjectChecksumType(o);
  if (!alg || !type) return;
  if (!part || (*type == ChecksumType::kFullObject && *part == 1 && o.segments.size() == 1)) {
    out.Set(crypto::ChecksumHeaderName(*alg), o.checksum_value);
    out.Set("x-amz-checksum-type", ChecksumTypeName(*type));
  } else if (*type == ChecksumType::kComposite && *part >= 1 && *part <= o.segments.size() &&
             !o.segments[*part - 1].checksum.empty()) {
    out.Set(crypto::ChecksumHeaderName(*alg), o.segments[*part - 1].checksum);
  }
}

void AddListedChecksum(const ObjectRecord& o, http::XmlNode node) {
  std::optional<ChecksumType> type = ObjectChecksumType(o);
  if (type) node.Add("ChecksumAlgorithm", o.checksum_algorithm).Add("ChecksumType", ChecksumTypeName(*type));
}

void ApplyResponseOverrides(const http::QueryParams& query, http::Headers& out) {
  static constexpr std::pair<std::string_view, std::string_view> kOverrides[] = {
      {"response-content-type", "content-type"},
      {"response-content-language", "content-language"},
      {"response-expires", "expires"},
      {"response-cache-control", "cache-control"},
      {"response-content-disposition", "content-disposition"},
      {"response-content-encoding", "content-encoding"},
  };
  for (const auto& [param, header] : kOverrides) {
    if (const std::string* v = query.Get(param)) out.Set(header, *v);
  }
}

Result<ChecksumRequest> ParseChecksumRequest(const http::Headers& headers) {
  ChecksumRequest req;
  for (const auto& f : headers) {
    if (!StartsWith(f.name, kChecksumPrefix)) continue;
    std::string_view alg_name = std::string_view(f.name).substr(kChecksumPrefix.size());
    if (alg_name == "mode" || alg_name == "algorithm" || alg_name == "type") continue;
    auto alg = crypto::ParseChecksumAlgorithm(alg_name);
    if (!alg) return http::ApiStatus("NotImplemented", "The checksum algorithm " + std::string(alg_name) + " is not supported.");
    if (req.expected) {
      return InvalidChecksumRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    }
    req.algorithm = alg;
    req.expected = f.value;
  }
  if (req.algorithm) return req;
  std::string_view named = headers.GetOr("x-amz-sdk-checksum-algorithm", headers.GetOr("x-amz-checksum-algorithm", ""));
  if (named.empty()) {
    std::string_view trailer = Trim(headers.GetOr("x-amz-trailer", ""));
    if (StartsWith(ToLower(trailer), kChecksumPrefix)) named = trailer.substr(kChecksumPrefix.size());
  }
  if (!named.empty()) {
    req.algorithm = crypto::ParseChecksumAlgorithm(named);
    if (!req.algorithm) {
      return InvalidChecksumRequest("Checksum algorithm provided is unsupported. Please try again with any of the "
                                    "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
    }
  }
  return req;
}

Status VerifyChecksum(const ChecksumRequest& request, const http::Headers& trailers, std::string_view computed) {
  if (!request.algorithm) return Status::OK();
  std::string header = crypto::ChecksumHeaderName(*request.algorithm);
  const std::string* expected = request.expected ? &*request.expected : trailers.Get(header);
  if (!expected) return Status::OK();  // algorithm only: computed and stored
  if (Trim(*expected) == computed) return Status::OK();
  return http::ApiStatus("BadDigest", "The " + std::string(crypto::ChecksumAlgorithmName(*request.algorithm)) +
                                          " you specified did not match the calculated checksum.");
}

bool HasIntegrityCheck(const http::Headers& headers, const ChecksumRequest& checksum) {
  return checksum.algorithm.has_value() || headers.Has("content-md5");
}

Status CheckContentMd5Syntax(const http::Headers& headers) {
  const std::string* md5 = headers.Get("content-md5");
  if (!md5) return Status::OK();
  auto raw = Base64Decode(Trim(*md5));
  if (!raw || raw->size() != 16) {
    return http::ApiStatus("InvalidDigest", "The Content-MD5 you specified was invalid.");
  }
  return Status::OK();
}

Status VerifyContentMd5(const http::Headers& headers, std::string_view md5_raw) {
  ANNEX_RETURN_IF_ERROR(CheckContentMd5Syntax(headers));
  const std::string* md5 = headers.Get("content-md5");
  if (!md5) return Status::OK();
  if (*Base64Decode(Trim(*md5)) != md5_raw) {
    return http::ApiStatus("BadDigest", "The Content-MD5 you specified did not match what we received.");
  }
  return Status::OK();
}

}  // namespace annex::objectstore
