#include "services/registry/distribution_errors.h"

#include <array>
#include <cctype>
#include <utility>

#include <nlohmann/json.hpp>

#include "appliance/core/log.h"

namespace annex::registry {
namespace {

struct CodeStatus {
  std::string_view code;
  int http_status;
};

// The distribution spec's codes (and distribution's own statuses for them,
// which ECR answers with too).
constexpr auto kCodes = std::to_array<CodeStatus>({
    {"BLOB_UNKNOWN", 404},
    {"BLOB_UPLOAD_INVALID", 400},
    {"BLOB_UPLOAD_UNKNOWN", 404},
    {"DIGEST_INVALID", 400},
    {"MANIFEST_BLOB_UNKNOWN", 400},
    {"MANIFEST_INVALID", 400},
    {"MANIFEST_UNKNOWN", 404},
    {"NAME_INVALID", 400},
    {"NAME_UNKNOWN", 404},
    {"SIZE_INVALID", 400},
    {"TAG_INVALID", 400},
    {"UNAUTHORIZED", 401},
    {"DENIED", 403},
    {"UNSUPPORTED", 405},
    {"RANGE_INVALID", 416},
    {"PAGINATION_NUMBER_INVALID", 400},
    {"TOOMANYREQUESTS", 429},
    {"UNAVAILABLE", 503},
    {"UNKNOWN", 500},
});

// ECR's exception names, which the store may use, and their distribution twins.
constexpr auto kEcrTwins = std::to_array<std::pair<std::string_view, std::string_view>>({
    {"RepositoryNotFoundException", "NAME_UNKNOWN"},
    {"ImageNotFoundException", "MANIFEST_UNKNOWN"},
    {"ReferencedImagesNotFoundException", "MANIFEST_UNKNOWN"},
    {"LayersNotFoundException", "MANIFEST_BLOB_UNKNOWN"},
    {"LayerInaccessibleException", "BLOB_UNKNOWN"},
    {"UploadNotFoundException", "BLOB_UPLOAD_UNKNOWN"},
    {"ImageDigestDoesNotMatchException", "DIGEST_INVALID"},
    {"InvalidLayerException", "DIGEST_INVALID"},
    {"ImageTagAlreadyExistsException", "TAG_INVALID"},
    {"InvalidParameterException", "MANIFEST_INVALID"},
    {"LimitExceededException", "TOOMANYREQUESTS"},
    {"ThrottlingException", "TOOMANYREQUESTS"},
    {"SlowDown", "TOOMANYREQUESTS"},
});

bool IsDistributionCode(std::string_view code) {
  for (const CodeStatus& c : kCodes) {
    if (c.code == code) return true;
  }
  return false;
}

struct Rendered {
  int http_status;
  std::string code;
  std::string message;
};

// The code and status for a Status that carries none of ours.
Rendered Nearest(const Status& status, std::string_view not_found_code) {
  for (const auto& [ecr, twin] : kEcrTwins) {
    if (status.subcode() == ecr) return {DistributionHttpStatus(twin), std::string(twin), status.message()};
  }
  switch (status.code()) {
    case StatusCode::kNotFound:
      return {DistributionHttpStatus(not_found_code), std::string(not_found_code), status.message()};
    case StatusCode::kUnauthenticated:
      return {401, "UNAUTHORIZED", status.message()};
    case StatusCode::kPermissionDenied:
    case StatusCode::kFailedPrecondition:
      return {403, "DENIED", status.message()};
    case StatusCode::kAlreadyExists:
      return {409, "DENIED", status.message()};
    case StatusCode::kOutOfRange:
      return {416, "RANGE_INVALID", status.message()};
    case StatusCode::kInvalidArgument:
      return {400, "UNSUPPORTED", status.message()};
    case StatusCode::kAborted:
    case StatusCode::kUnavailable:
      return {503, "UNAVAILABLE", "the registry is busy; retry"};
    case StatusCode::kResourceExhausted:
      return {507, "UNKNOWN", "insufficient storage on the appliance"};
    default:
      // Details (paths, errno text) go to the log, never to the client.
      log::Error("registry: request failed", {{"error", status.ToString()}});
      return {500, "UNKNOWN", "internal error"};
  }
}

}  // namespace

Status DistributionError(std::string_view code, std::string message) {
  StatusCode sc = StatusCode::kInvalidArgument;
  int http = DistributionHttpStatus(code);
  if (http == 404) sc = StatusCode::kNotFound;
  if (http == 401) sc = StatusCode::kUnauthenticated;
  if (http == 403) sc = StatusCode::kPermissionDenied;
  if (http == 416) sc = StatusCode::kOutOfRange;
  if (http >= 500) sc = StatusCode::kInternal;
  return Status(sc, std::move(message), std::string(code));
}

int DistributionHttpStatus(std::string_view code) {
  for (const CodeStatus& c : kCodes) {
    if (c.code == code) return c.http_status;
  }
  return 500;
}

http::Response RenderDistributionError(const Status& status, std::string_view not_found_code) {
  Rendered r = IsDistributionCode(status.subcode())
                   ? Rendered{DistributionHttpStatus(status.subcode()), status.subcode(), status.message()}
                   : Nearest(status, not_found_code);
  // A path that is no API at all: UNSUPPORTED, but 404 as distribution answers it.
  if (r.code == "UNSUPPORTED" && status.code() == StatusCode::kNotFound) r.http_status = 404;
  nlohmann::json error = {{"code", r.code}, {"message", r.message}};
  http::Response response;
  response.status = r.http_status;
  response.headers.Set("content-type", "application/json; charset=utf-8");
  response.headers.Set("docker-distribution-api-version", "registry/2.0");
  response.body = nlohmann::json{{"errors", nlohmann::json::array({error})}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.body += "\n";
  return response;
}

http::Response UnauthorizedResponse(const http::Request& request, std::string_view message) {
  http::Response response = RenderDistributionError(DistributionError("UNAUTHORIZED", std::string(message)));
  std::string host;
  for (char c : request.headers.GetOr("host", "")) {  // nothing that could end the quoted string
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
      host.push_back(c);
    }
  }
  // The realm is only informative for Basic; ECR names its registry host.
  std::string realm = (request.tls ? "https://" : "http://") + host + "/";
  response.headers.Set("www-authenticate", "Basic realm=\"" + realm + "\",service=\"ecr.amazonaws.com\"");
  return response;
}

Task<Status> SendDistributionError(service::RequestContext& ctx, const Status& status,
                                   std::string_view not_found_code) {
  if (ctx.response.head_sent()) co_return status;
  http::Response response = status.subcode() == "UNAUTHORIZED" || status.code() == StatusCode::kUnauthenticated
                                ? UnauthorizedResponse(ctx.request, status.message())
                                : RenderDistributionError(status, not_found_code);
  co_return co_await ctx.response.Send(std::move(response));
}

}  // namespace annex::registry
