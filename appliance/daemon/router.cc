#include "appliance/daemon/router.h"

#include <array>
#include <utility>

#include "appliance/auth/sigv4_verifier.h"
#include "appliance/core/strings.h"

namespace annex::daemon {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kTargetPrefixes = {{
    {"AmazonEC2ContainerRegistry_V20150921.", "ecr"},
    {"AmazonEC2ContainerServiceV20141113.", "ecs"},
    {"Logs_20140328.", "logs"},
    {"AWSEvents.", "events"},
    {"GraniteServiceVersion20100801.", "monitoring"},
}};

}  // namespace

std::string RouteService(const http::Request& request) {
  if (const std::string* target = request.headers.Get("x-amz-target")) {
    for (const auto& [prefix, service] : kTargetPrefixes) {
      if (StartsWith(*target, prefix)) return std::string(service);
    }
  }
  std::string scoped = auth::ScopeService(request);
  if (!scoped.empty()) return scoped;
  if (StartsWith(request.path, "/v2/") || request.path == "/v2") return "registry";
  if (StartsWith(request.path, "/2015-03-31/")) return "lambda";
  return "s3";
}

}  // namespace annex::daemon
