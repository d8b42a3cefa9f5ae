#pragma once
// Router: which service a request is for, from the services' descriptors —
// no service is named here. In order: the X-Amz-Target prefix (JSON
// protocols), a Host suffix (API Gateway invoke URLs), the SigV4 credential
// scope's service name, a path prefix, else the catch-all service (S3, so
// anonymous requests for public objects need no hint at all).

#include <string>
#include <vector>

#include "appliance/http/request.h"
#include "appliance/service/service.h"

namespace annex::daemon {

// A request no service claims: what it asked for and in which protocol to
// say that it is not here.
struct Unrouted {
  std::string wanted;  // the signing name, target or path it came with
  service::Protocol protocol = service::Protocol::kRestXml;
};

class Router {
 public:
  // Services are consulted in the order added within each kind of route.
  void Add(service::Service* service) { services_.push_back(service); }
  const std::vector<service::Service*>& services() const { return services_; }

  // The service for `request`, or null with `unrouted` filled in.
  service::Service* Route(const http::Request& request, Unrouted* unrouted) const;

 private:
  std::vector<service::Service*> services_;
};

}  // namespace annex::daemon
