#include "appliance/http/api_error.h"

#include <array>

#include "appliance/core/strings.h"
#include "appliance/http/xml.h"

namespace annex::http {
namespace {

struct KnownError {
  std::string_view code;
  int status;
};

// HTTP statuses as AWS documents them for each error code.
constexpr std::array kKnownErrors = std::to_array<KnownError>({
    {"AccessDenied", 403},
    {"AccountProblem", 403},
    {"AuthorizationHeaderMalformed", 400},
    {"AuthorizationQueryParametersError", 400},
    {"BadDigest", 400},
    {"BucketAlreadyExists", 409},
    {"BucketAlreadyOwnedByYou", 409},
    {"BucketNotEmpty", 409},
    {"CORSForbidden", 403},
    {"DeleteConflict", 409},
    {"EntityAlreadyExists", 409},
    {"EntityTooLarge", 400},
    {"EntityTooSmall", 400},
    {"IllegalLocationConstraintException", 400},
    {"IncompleteBody", 400},
    {"InsufficientStorage", 507},
    {"InternalError", 500},
    {"InvalidAccessKeyId", 403},
    {"InvalidAction", 400},
    {"InvalidArgument", 400},
    {"InvalidBucketName", 400},
    {"InvalidChunkSizeError", 400},
    {"InvalidClientTokenId", 403},
    {"InvalidDigest", 400},
    {"InvalidParameterValue", 400},
    {"InvalidPart", 400},
    {"InvalidPartNumber", 416},
    {"InvalidPartOrder", 400},
    {"InvalidRange", 416},
    {"InvalidRequest", 400},
    {"InvalidStorageClass", 400},
    {"InvalidURI", 400},
    {"KeyTooLongError", 400},
    {"LimitExceeded", 409},
    {"MalformedACLError", 400},
    {"MalformedXML", 400},
    {"MaxMessageLengthExceeded", 400},
    {"MetadataTooLarge", 400},
    {"MethodNotAllowed", 405},
    {"MissingAction", 400},
    {"MissingContentLength", 411},
    {"MissingParameter", 400},
    {"MissingRequestBodyError", 400},
    {"MissingSecurityHeader", 400},
    {"NoSuchBucket", 404},
    {"NoSuchBucketPolicy", 404},
    {"NoSuchCORSConfiguration", 404},
    {"NoSuchEntity", 404},
    {"NoSuchKey", 404},
    {"NoSuchLifecycleConfiguration", 404},
    {"NoSuchPublicAccessBlockConfiguration", 404},
    {"NoSuchTagSet", 404},
    {"NoSuchUpload", 404},
    {"NoSuchWebsiteConfiguration", 404},
    {"NotFound", 404},
    {"NotImplemented", 501},
    {"NotModified", 304},
    {"ObjectLockConfigurationNotFoundError", 404},
    {"OperationAborted", 409},
    {"OwnershipControlsNotFoundError", 404},
    {"PreconditionFailed", 412},
    {"ReplicationConfigurationNotFoundError", 404},
    {"RequestHeaderSectionTooLarge", 400},
    {"RequestTimeTooSkewed", 403},
    {"RequestTimeout", 400},
    {"ServerSideEncryptionConfigurationNotFoundError", 404},
    {"ServiceUnavailable", 503},
    {"SignatureDoesNotMatch", 403},
    {"SlowDown", 503},
    {"UnknownOperationException", 400},
    {"ValidationError", 400},
    {"XAmzContentSHA256Mismatch", 400},
});

std::string_view DefaultMessage(std::string_view code) {
  if (code == "NoSuchBucket") return "The specified bucket does not exist";
  if (code == "NoSuchKey") return "The specified key does not exist.";
  if (code == "NoSuchUpload") return "The specified upload does not exist.";
  if (code == "AccessDenied") return "Access Denied";
  if (code == "InternalError") return "We encountered an internal error. Please try again.";
  if (code == "SignatureDoesNotMatch")
    return "The request signature we calculated does not match the signature you provided.";
  if (code == "InvalidAccessKeyId") return "The AWS Access Key Id you provided does not exist in our records.";
  return "";
}

}  // namespace

int HttpStatusForCode(std::string_view code) {
  for (const auto& e : kKnownErrors) {
    if (e.code == code) return e.status;
  }
  return 400;
}

Status ApiStatus(std::string_view code, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), std::string(code));
}

ApiError MakeApiError(std::string_view code, std::string message) {
  ApiError e;
  e.code = std::string(code);
  e.http_status = HttpStatusForCode(code);
  e.message = message.empty() ? std::string(DefaultMessage(code)) : std::move(message);
  return e;
}

ApiError ApiErrorFromStatus(const Status& status) {
  if (!status.subcode().empty()) return MakeApiError(status.subcode(), status.message());
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
