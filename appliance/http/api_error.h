#pragma once
// ApiError: an error as the client sees it — HTTP status, the AWS error code
// SDKs branch on, and a message. One table (api_error.cc) maps each code to
// its HTTP status, so every service answers the same code the same way.

#include <string>
#include <string_view>

#include "appliance/core/status.h"
#include "appliance/http/request.h"

namespace annex::http {

struct ApiError {
  int http_status = 500;
  std::string code = "InternalError";
  std::string message;
  std::string resource;  // S3 <Resource>, optional
};

// A Status carrying `code` as its subcode; the edge turns it into an ApiError.
Status ApiStatus(std::string_view code, std::string message);
// Looks `code` up in the table (unknown codes become 400).
ApiError MakeApiError(std::string_view code, std::string message = {});
// Uses the Status's subcode when it has one, else maps its StatusCode
// (NotFound → 404 …, ResourceExhausted → 507 InsufficientStorage, the rest → 500).
ApiError ApiErrorFromStatus(const Status& status);
// The HTTP status the table gives `code`.
int HttpStatusForCode(std::string_view code);

// Wire shapes for each AWS protocol.
// REST-XML (S3): <Error><Code/><Message/><Resource/><RequestId/></Error>
Response RenderRestXmlError(const ApiError& error, std::string_view request_id);
// Query (IAM, STS, RDS, CloudWatch): <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
Response RenderQueryError(const ApiError& error, std::string_view request_id);
// JSON 1.0/1.1 and REST-JSON: {"__type": code, "message": …} plus x-amzn-ErrorType.
Response RenderJsonError(const ApiError& error, std::string_view request_id);

}  // namespace annex::http
