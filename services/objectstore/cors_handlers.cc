// Get/Put/DeleteBucketCors and the browser preflight (OPTIONS) request.

#include <algorithm>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/bucket_name.h"
#include "services/objectstore/cors.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/handlers.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxCorsBody = 64 * 1024;

Status CorsForbidden() {
  return http::ApiStatus("CORSForbidden",
                         "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
                         "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
                         "are not whitelisted by the resource's CORS spec.");
}

// Replaces the bucket's CORS rules inside one transaction.
http::Task<Status> StoreRules(S3Call& call, std::vector<CorsRule> rules) {
  co_return co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    current.cors = rules;
    return Status::OK();
  });
}

}  // namespace

http::Task<Status> GetBucketCors(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (bucket.cors.empty()) {
    co_return http::ApiStatus("NoSuchCORSConfiguration", "The CORS configuration does not exist");
  }
  co_return co_await call.ctx.response.Send(XmlResponse(RenderCorsConfiguration(bucket.cors)));
}

http::Task<Status> PutBucketCors(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadCheckedBody(call, kMaxCorsBody));
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<CorsRule> rules, ParseCorsConfiguration(body));
  ANNEX_CO_RETURN_IF_ERROR(co_await StoreRules(call, std::move(rules)));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> DeleteBucketCors(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_RETURN_IF_ERROR(co_await StoreRules(call, {}));
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

// Preflight requests are unsigned by design; the bucket's rules decide.
http::Task<Status> CorsPreflight(S3Call& call) {
  const std::string* origin = call.headers().Get("origin");
  const std::string* method = call.headers().Get("access-control-request-method");
  // S3 answers a preflight it cannot read with 400 BadRequest, before it looks at any bucket.
  if (!origin) co_return http::ApiStatus("BadRequest", "Insufficient information. Origin request header needed.");
  static constexpr std::string_view kMethods[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
  if (!method || std::find(std::begin(kMethods), std::end(kMethods), *method) == std::end(kMethods)) {
    co_return http::ApiStatus("BadRequest",
                              "Invalid Access-Control-Request-Method: " + (method ? *method : std::string("null")));
  }
  if (call.bucket().empty()) co_return CorsForbidden();
  if (!ValidateBucketName(call.bucket()).ok()) co_return NoSuchBucket();
  std::optional<BucketRecord> bucket;
  {
    ANNEX_CO_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    ANNEX_CO_ASSIGN_OR_RETURN(bucket, GetBucket(txn, call.store.meta().tables(), call.bucket()));
  }
  if (!bucket) co_return NoSuchBucket();
  std::string_view requested = call.headers().GetOr("access-control-request-headers", "");
  std::vector<std::string> wanted;
  for (std::string_view h : Split(requested, ',')) {
    h = Trim(h);
    if (!h.empty()) wanted.push_back(ToLower(h));
  }
  const CorsRule* rule = MatchCorsRule(bucket->cors, *origin, *method, wanted);
  if (!rule) co_return CorsForbidden();
  http::Response r;
  AddCorsHeaders(*rule, *origin, /*preflight=*/true, requested, r.headers);
  co_return co_await call.ctx.response.Send(std::move(r));
}

}  // namespace annex::objectstore
