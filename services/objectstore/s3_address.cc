#include "services/objectstore/s3_address.h"

#include "appliance/core/strings.h"

namespace annex::objectstore {
namespace {

// The bucket label of a virtual-hosted Host, or "" for path style.
std::string VirtualHostBucket(const http::Request& request, const std::vector<std::string>& suffixes) {
  std::string host = ToLower(request.HostWithoutPort());
  for (const auto& suffix : suffixes) {
    std::string s = ToLower(suffix);
    if (host.size() > s.size() + 1 && host.compare(host.size() - s.size(), s.size(), s) == 0 &&
        host[host.size() - s.size() - 1] == '.') {
      return host.substr(0, host.size() - s.size() - 1);
    }
  }
  return "";
}

}  // namespace

S3Address ResolveAddress(const http::Request& request, const std::vector<std::string>& virtual_host_suffixes) {
  S3Address out;
  std::string_view path = request.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string bucket = VirtualHostBucket(request, virtual_host_suffixes);
  if (!bucket.empty()) {
    out.bucket = std::move(bucket);
    out.key = std::string(path);
    return out;
  }
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) {
    out.bucket = std::string(path);
  } else {
    out.bucket = std::string(path.substr(0, slash));
    out.key = std::string(path.substr(slash + 1));
  }
  return out;
}

}  // namespace annex::objectstore
