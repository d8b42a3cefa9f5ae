#pragma once
// Service: one AWS-compatible API plugged into the edge (S3, IAM, …).
//
// The edge parses and authenticates each request, decides which service it
// belongs to (SigV4 scope, X-Amz-Target, path) and calls Handle(). A handler
// either sends a response itself and returns OK, or returns an error Status
// before sending anything; the edge then answers in the service's own error
// shape (RenderError). Handlers never throw.

#include <string>
#include <string_view>

#include "appliance/http/api_error.h"
#include "appliance/service/request_context.h"

namespace annex::service {

class Service {
 public:
  virtual ~Service() = default;
  // The SigV4 service name this service answers to ("s3", "iam").
  virtual std::string_view name() const = 0;
  // Whether unsigned requests may reach Handle() (S3 public-read objects).
  virtual bool allows_anonymous() const { return false; }
  virtual http::Task<Status> Handle(RequestContext& ctx) = 0;
  virtual http::Response RenderError(const http::ApiError& error, std::string_view request_id) const = 0;
  // Appends Prometheus text lines for service-specific gauges (objects stored…).
  virtual void AppendMetrics(std::string& out) const {}
  // Called once before the daemon exits; flush and release resources.
  virtual void Stop() {}
};

}  // namespace annex::service
