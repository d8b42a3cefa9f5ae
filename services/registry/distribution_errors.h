#pragma once
// The OCI distribution API's errors: the codes clients branch on, their
// HTTP statuses, and the JSON body they travel in
// ({"errors":[{"code":"BLOB_UNKNOWN","message":"…","detail":…}]}).
//
// Handlers return a Status whose subcode is one of these codes
// (DistributionError); SendDistributionError renders any Status, mapping
// the store's and the platform's errors to the nearest code.

#include <string>
#include <string_view>

#include "appliance/core/status.h"
#include "appliance/core/task.h"
#include "appliance/http/request.h"
#include "appliance/service/request_context.h"

namespace annex::registry {

// A Status carrying the distribution error `code` (subcode) and `message`.
Status DistributionError(std::string_view code, std::string message);

// The HTTP status of `code` (500 for unknown codes).
int DistributionHttpStatus(std::string_view code);

// The response for `status`: its subcode when it is a distribution code,
// else the nearest one (ECR's exception names, NotFound → `not_found_code`,
// Unauthenticated → UNAUTHORIZED, PermissionDenied → DENIED, …).
http::Response RenderDistributionError(const Status& status, std::string_view not_found_code = "NAME_UNKNOWN");

// The 401 every unauthenticated request gets, with the challenge clients
// answer with Basic credentials.
http::Response UnauthorizedResponse(const http::Request& request, std::string_view message);

// Sends RenderDistributionError(status) (or the 401 challenge) and returns
// OK; when a head already went out, returns `status` for the edge to log.
Task<Status> SendDistributionError(service::RequestContext& ctx, const Status& status,
                                   std::string_view not_found_code = "NAME_UNKNOWN");

}  // namespace annex::registry
