#pragma once
// Service: one AWS-compatible API plugged into the edge (S3, IAM, …).
//
// A service describes itself (descriptor.h: routes, protocol, auth, error
// codes). The edge parses and authenticates each request, picks the service
// by the descriptors and calls Handle(). A handler either sends a response
// itself and returns OK, or returns an error Status before sending
// anything; the edge then answers in the service's own error shape
// (RenderError). Handlers never throw.

#include <string>
#include <string_view>

#include "appliance/http/api_error.h"
#include "appliance/service/descriptor.h"
#include "appliance/service/request_context.h"

namespace annex::service {

// What /_annex/health says of a service. The appliance is ready only when
// every service is.
struct Health {
  bool ready = true;
  std::string detail;  // why not, or what it is doing ("recovering uploads")
};

class Service {
 public:
  virtual ~Service() = default;
  virtual const Descriptor& descriptor() const = 0;
  std::string_view name() const { return descriptor().name; }
  virtual http::Task<Status> Handle(RequestContext& ctx) = 0;
  // The error in the service's protocol; override for anything more.
  virtual http::Response RenderError(const http::ApiError& error, std::string_view request_id) const {
    return service::RenderError(descriptor().protocol, error, request_id);
  }
  virtual Health health() const { return {}; }
  // Appends Prometheus text lines for service-specific gauges (objects stored…).
  virtual void AppendMetrics(std::string& out) const {}
  // Called once before the daemon exits; flush and release resources.
  virtual void Stop() {}
};

}  // namespace annex::service
