#pragma once
// ApiError: an error as the client sees it — HTTP status, the AWS error code
// SDKs branch on, and a message. The platform's table (api_error.cc) holds
// the codes the platform itself answers (authentication, throttling,
// internal errors, malformed requests); each service brings a table of its
// own codes (service::Descriptor::errors), consulted first.

#include <span>
#include <string>
#include <string_view>

#include "appliance/core/status.h"
#include "appliance/http/request.h"

namespace annex::http {

// One entry of an error table: a code, the HTTP status AWS documents for it,
// and the message used when an error of that code comes without one.
struct ErrorCodeStatus {
  std::string_view code;  // string literals: tables are static
  int http_status;
  std::string_view default_message = {};
};
using ErrorTable = std::span<const ErrorCodeStatus>;

struct ApiError {
  int http_status = 500;
  std::string code = "InternalError";
  std::string message;
  std::string resource;  // S3 <Resource>, optional
};

// A Status carrying `code` as its subcode; the edge turns it into an ApiError.
Status ApiStatus(std::string_view code, std::string message);
// Looks `code` up in `service_errors`, then the platform's table (unknown codes become 400).
ApiError MakeApiError(std::string_view code, std::string message = {}, ErrorTable service_errors = {});
// Uses the Status's subcode when it has one, else maps its StatusCode
// (NotFound → 404 …, ResourceExhausted → 507 InsufficientStorage, the rest → 500).
ApiError ApiErrorFromStatus(const Status& status, ErrorTable service_errors = {});
// The HTTP status `service_errors`, else the platform's table, gives `code`.
int HttpStatusForCode(std::string_view code, ErrorTable service_errors = {});

// Wire shapes for each AWS protocol.
// REST-XML (S3): <Error><Code/><Message/><Resource/><RequestId/></Error>
Response RenderRestXmlError(const ApiError& error, std::string_view request_id);
// Query (IAM, STS, RDS, CloudWatch): <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
Response RenderQueryError(const ApiError& error, std::string_view request_id);
// JSON 1.0/1.1 and REST-JSON: {"__type": code, "message": …} plus x-amzn-ErrorType.
Response RenderJsonError(const ApiError& error, std::string_view request_id);

}  // namespace annex::http
