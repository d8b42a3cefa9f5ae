#pragma once
// Routing: which service a request is for. In order: the X-Amz-Target
// prefix (JSON protocols), the SigV4 credential scope's service name, the
// path (/v2/ is the OCI registry, /2015-03-31/ Lambda), else S3 — so
// anonymous S3 requests (public-read objects) need no hint at all.

#include <string>

#include "appliance/http/request.h"

namespace annex::daemon {

std::string RouteService(const http::Request& request);

}  // namespace annex::daemon
