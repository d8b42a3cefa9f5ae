#pragma once
// RequestContext: everything a service handler needs for one request —
// the request head, its verified body, who sent it, and the shared
// facilities (clock, blocking pool). Built by the edge, one per request.

#include <string>

#include "appliance/auth/principal.h"
#include "appliance/http/exchange.h"
#include "appliance/os/blocking_pool.h"
#include "appliance/os/clock.h"

namespace annex::service {

struct RequestContext {
  const http::Request& request;
  http::ResponseWriter& response;
  // The payload after SigV4 verification/decoding (aws-chunked removed).
  http::BodyReader& body;
  // Trailing headers of an aws-chunked body; filled once `body` reports EOF.
  const http::Headers& trailers;
  auth::Principal principal;  // anonymous=true for unsigned requests
  std::string region;         // the appliance's region
  os::Clock& clock;
  os::BlockingPool& blocking;
  // Set by the handler: the API operation name, for metrics and logs ("PutObject").
  std::string operation;
  // Set by the handler: bytes of payload stored/served, for metrics.
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

}  // namespace annex::service
