#include "appliance/http/request.h"

#include "appliance/core/strings.h"

namespace annex::http {

std::string Request::HostWithoutPort() const {
  std::string_view host = headers.GetOr("host", "");
  if (!host.empty() && host.front() == '[') {  // [::1]:4566
    size_t close = host.find(']');
    return std::string(host.substr(0, close == std::string_view::npos ? host.size() : close + 1));
  }
  size_t colon = host.rfind(':');
  return ToLower(host.substr(0, colon));
}

Status ParseTarget(std::string_view target, Request& request) {
  request.target = std::string(target);
  size_t q = target.find('?');
  request.raw_path = std::string(target.substr(0, q));
  request.raw_query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  auto path = UriDecode(request.raw_path);
  if (!path) return Status(StatusCode::kInvalidArgument, "bad percent-encoding in path", "InvalidURI");
  request.path = std::move(*path);
  auto query = QueryParams::Parse(request.raw_query);
  if (!query.ok()) return Status(StatusCode::kInvalidArgument, query.status().message(), "InvalidURI");
  request.query = std::move(*query);
  return Status::OK();
}

}  // namespace annex::http
