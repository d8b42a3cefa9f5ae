#include "appliance/daemon/router.h"

#include "appliance/auth/sigv4_verifier.h"
#include "appliance/core/strings.h"

namespace annex::daemon {
namespace {

// The protocol a request that reached no service was spoken in, judged from
// the request itself, so the refusal is one its client can parse.
service::Protocol ProtocolOf(const http::Request& request) {
  if (request.headers.Has("x-amz-target")) return service::Protocol::kJson11;
  const std::string* type = request.headers.Get("content-type");
  if ((type && StartsWith(ToLower(*type), "application/x-www-form-urlencoded")) || request.query.Has("Action")) {
    return service::Protocol::kQuery;
  }
  return service::Protocol::kRestXml;
}

bool HostHasSuffix(std::string_view host, std::string_view suffix) {
  return host.size() > suffix.size() + 1 && host.ends_with(suffix) && host[host.size() - suffix.size() - 1] == '.';
}

}  // namespace

service::Service* Router::Route(const http::Request& request, Unrouted* unrouted) const {
  if (const std::string* target = request.headers.Get("x-amz-target")) {
    for (auto* s : services_) {
      for (const auto& prefix : s->descriptor().target_prefixes) {
        if (StartsWith(*target, prefix)) return s;
      }
    }
    *unrouted = {*target, service::Protocol::kJson11};
    return nullptr;
  }
  std::string host = ToLower(request.HostWithoutPort());
  for (auto* s : services_) {
    for (const auto& name : s->descriptor().hosts) {
      if (host == name) return s;
    }
    for (const auto& suffix : s->descriptor().host_suffixes) {
      if (HostHasSuffix(host, ToLower(suffix))) return s;
    }
  }
  std::string scoped = auth::ScopeService(request);
  if (!scoped.empty()) {
    for (auto* s : services_) {
      for (const auto& name : s->descriptor().signing_names) {
        if (name == scoped) return s;
      }
    }
    *unrouted = {scoped, ProtocolOf(request)};
    return nullptr;
  }
  for (auto* s : services_) {
    for (const auto& prefix : s->descriptor().path_prefixes) {
      if (StartsWith(request.path, prefix)) return s;
    }
  }
  for (auto* s : services_) {
    if (s->descriptor().catch_all) return s;
  }
  *unrouted = {request.path, ProtocolOf(request)};
  return nullptr;
}

}  // namespace annex::daemon
