#include "appliance/http/api_error.h"

#include <array>

#include "appliance/core/strings.h"
#include "appliance/http/xml.h"

namespace annex::http {
namespace {

// The codes the platform answers itself, whatever the service: signatures,
// credentials, throttling, malformed HTTP, internal errors. Services' own
// codes are in their descriptors.
constexpr auto kPlatformErrors = std::to_array<ErrorCodeStatus>({
    {"AccessDenied", 403, "Access Denied"},
    {"AuthorizationHeaderMalformed", 400},
    {"AuthorizationQueryParametersError", 400},
    {"IncompleteBody", 400},
    {"InsufficientStorage", 507},
    {"ExpiredToken", 400, "The provided token has expired."},
    {"ExpiredTokenException", 400, "The security token included in the request is expired"},
    {"InternalError", 500, "We encountered an internal error. Please try again."},
    {"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."},
    {"InvalidAction", 400},
    {"InvalidArgument", 400},
    {"InvalidChunkSizeError", 400},
    {"InvalidClientTokenId", 403},
    {"InvalidParameterValue", 400},
    {"InvalidRequest", 400},
    {"InvalidToken", 400, "The provided token is malformed or otherwise invalid."},
    {"InvalidURI", 400},
    {"MalformedQueryString", 400},
    {"MalformedXML", 400},
    {"MaxMessageLengthExceeded", 400},
    {"MethodNotAllowed", 405},
    {"MissingAction", 400},
    {"MissingAuthenticationToken", 403},
    {"MissingContentLength", 411},
    {"MissingParameter", 400},
    {"NotFound", 404},
    {"NotImplemented", 501},
    {"RequestEntityTooLarge", 413},
    {"RequestHeaderSectionTooLarge", 400},
    {"RequestTimeTooSkewed", 403},
    {"RequestTimeout", 400},
    {"ServiceUnavailable", 503},
    {"SignatureDoesNotMatch", 403,
     "The request signature we calculated does not match the signature you provided."},
    {"SlowDown", 503},
    {"UnknownOperationException", 400},
    {"UnrecognizedClientException", 400},
    {"ValidationError", 400},
    {"XAmzContentSHA256Mismatch", 400},
});

const ErrorCodeStatus* Find(std::string_view code, ErrorTable service_errors) {
  for (const auto& e : service_errors) {
    if (e.code == code) return &e;
  }
  for (const auto& e : kPlatformErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

}  // namespace

int HttpStatusForCode(std::string_view code, ErrorTable service_errors) {
  const ErrorCodeStatus* e = Find(code, service_errors);
  return e ? e->http_status : 400;
}

Status ApiStatus(std::string_view code, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), std::string(code));
}

ApiError MakeApiError(std::string_view code, std::string message, ErrorTable service_errors) {
  ApiError e;
  e.code = std::string(code);
  const ErrorCodeStatus* known = Find(code, service_errors);
  e.http_status = known ? known->http_status : 400;
  e.message = message.empty() && known ? std::string(known->default_message) : std::move(message);
  return e;
}

ApiError ApiErrorFromStatus(const Status& status, ErrorTable service_errors) {
  if (!status.subcode().empty()) return MakeApiError(status.subcode(), status.message(), service_errors);
  switch (status.code()) {
    case StatusCode::kResourceExhausted:
      return MakeApiError("InsufficientStorage", "Not enough storage space left on the appliance.");
    case StatusCode::kUnavailable:
      return MakeApiError("ServiceUnavailable", status.message());
    case StatusCode::kPermissionDenied:
      return MakeApiError("AccessDenied", status.message());
    case StatusCode::kInvalidArgument:
      return MakeApiError("InvalidArgument", status.message());
    default:
      // Internal details stay in the log, not in the response.
      return MakeApiError("InternalError");
  }
}

Response RenderRestXmlError(const ApiError& error, std::string_view request_id) {
  XmlDocument doc("Error");
  doc.root().Add("Code", error.code).Add("Message", error.message);
  if (!error.resource.empty()) doc.root().Add("Resource", error.resource);
  doc.root().Add("RequestId", request_id);
  Response r;
  r.status = error.http_status;
  r.headers.Set("content-type", "application/xml");
  // HEAD and 304 responses carry no body; the server drops it for those.
  r.body = doc.Render();
  return r;
}

Response RenderQueryError(const ApiError& error, std::string_view request_id) {
  XmlDocument doc("ErrorResponse");
  auto err = doc.root().Child("Error");
  err.Add("Type", error.http_status >= 500 ? "Receiver" : "Sender").Add("Code", error.code).Add("Message", error.message);
  doc.root().Add("RequestId", request_id);
  Response r;
  r.status = error.http_status;
  r.headers.Set("content-type", "text/xml");
  r.body = doc.Render();
  return r;
}

Response RenderJsonError(const ApiError& error, std::string_view request_id) {
  std::string body = "{\"__type\":\"";
  body += JsonEscape(error.code);
  body += "\",\"message\":\"";
  body += JsonEscape(error.message);
  body += "\"}";
  Response r;
  r.status = error.http_status;
  r.headers.Set("content-type", "application/x-amz-json-1.1");
  r.headers.Set("x-amzn-errortype", error.code);
  r.headers.Set("x-amzn-requestid", request_id);
  r.body = std::move(body);
  return r;
}

}  // namespace annex::http
