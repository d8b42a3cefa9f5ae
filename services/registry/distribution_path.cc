#include "services/registry/distribution_path.h"

#include <vector>

#include "appliance/core/strings.h"
#include "services/registry/distribution_errors.h"

namespace annex::registry {
namespace {

constexpr size_t kMaxPathBytes = 4096;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// [a-z0-9]+(?:[._-][a-z0-9]+)*
bool IsValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (IsLowerAlnum(c[i])) continue;
    if (c[i] != '.' && c[i] != '_' && c[i] != '-') return false;
    if (!IsLowerAlnum(c[i + 1])) return false;  // separators never repeat; the last char is alnum
  }
  return true;
}

Status NoSuchApi() { return Status(StatusCode::kNotFound, "no such API under /v2/", "UNSUPPORTED"); }

// The repository name made of `segments` (decoded).
Result<std::string> NameOf(const std::vector<std::string>& segments, size_t count) {
  std::string name;
  for (size_t i = 0; i < count; ++i) {
    if (i) name += '/';
    name += segments[i];
  }
  if (!IsValidRepositoryName(name)) {
    return DistributionError("NAME_INVALID", "invalid repository name: must match ECR's rule "
                                             "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*, "
                                             "2 to 256 characters");
  }
  return name;
}

Result<DistributionPath> FromSegments(const std::vector<std::string>& s) {
  const size_t n = s.size();
  // Both branches as views: `cond ? s[i] : ""` would make a temporary
  // std::string, and the view would outlive it.
  auto at = [&](size_t from_right) -> std::string_view {
    return from_right <= n ? std::string_view(s[n - from_right]) : std::string_view();
  };
  DistributionPath p;
  size_t name_segments = 0;
  if (n >= 4 && at(3) == "blobs" && at(2) == "uploads") {
    p.route = at(1).empty() ? DistributionRoute::kUploads : DistributionRoute::kUpload;
    p.reference = std::string(at(1));
    name_segments = n - 3;
  } else if (n >= 3 && at(2) == "blobs" && at(1) == "uploads") {
    p.route = DistributionRoute::kUploads;
    name_segments = n - 2;
  } else if (n >= 3 && at(2) == "manifests" && !at(1).empty()) {
    p.route = DistributionRoute::kManifest;
    p.reference = std::string(at(1));
    name_segments = n - 2;
  } else if (n >= 3 && at(2) == "blobs" && !at(1).empty()) {
    p.route = DistributionRoute::kBlob;
    p.reference = std::string(at(1));
    name_segments = n - 2;
  } else if (n >= 3 && at(2) == "tags" && at(1) == "list") {
    p.route = DistributionRoute::kTags;
    name_segments = n - 2;
  } else {
    return NoSuchApi();
  }
  ANNEX_ASSIGN_OR_RETURN(p.name, NameOf(s, name_segments));
  return p;
}

}  // namespace

Result<DistributionPath> ParseDistributionPath(std::string_view raw_path) {
  if (raw_path.size() > kMaxPathBytes) return DistributionError("NAME_INVALID", "request path too long");
  if (raw_path == "/v2" || raw_path == "/v2/") return DistributionPath{};
  if (!StartsWith(raw_path, "/v2/")) return NoSuchApi();
  std::string_view rest = raw_path.substr(4);
  if (rest == "_catalog") return DistributionPath{DistributionRoute::kCatalog, "", ""};
  std::vector<std::string> segments;
  for (std::string_view raw : Split(rest, '/')) {
    std::optional<std::string> decoded = UriDecode(raw);
    if (!decoded || decoded->find('/') != std::string::npos) return NoSuchApi();
    segments.push_back(std::move(*decoded));
  }
  return FromSegments(segments);
}

bool IsValidRepositoryName(std::string_view name) {
  if (name.size() < 2 || name.size() > 256) return false;
  for (std::string_view component : Split(name, '/')) {
    if (!IsValidComponent(component)) return false;
  }
  return true;
}

bool IsValidUploadId(std::string_view uuid) {
  if (uuid.empty() || uuid.size() > 128) return false;
  for (char c : uuid) {
    if (!IsAlnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace annex::registry
