#pragma once
// The Query protocol's request and answer (IAM, STS, and RDS to come):
// parameters in the URL and in a form body together, an Action among
// them, an XML answer.

#include <string>

#include "appliance/core/result.h"
#include "appliance/http/query.h"
#include "appliance/service/request_context.h"

namespace annex::service {

// The request's parameters (body up to 1 MiB): MalformedQueryString when
// they do not parse, MissingAction without an Action.
http::Task<Result<http::QueryParams>> ReadQueryRequest(RequestContext& ctx);

// Sends `xml` as the answer (200, text/xml).
http::Task<Status> SendQueryResponse(RequestContext& ctx, std::string xml);

}  // namespace annex::service
