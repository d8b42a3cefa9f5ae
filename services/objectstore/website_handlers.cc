// Get/Put/DeleteBucketWebsite: the bucket's WebsiteConfiguration
// (website_config.h), kept rendered in its record.

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/website_config.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxWebsiteBody = 128 * 1024;

http::Task<Status> StoreWebsite(S3Call& call, std::string website) {
  co_return co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    current.website = website;
    return Status::OK();
  });
}

}  // namespace

http::Task<Status> GetBucketWebsite(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (bucket.website.empty()) {
    co_return http::ApiStatus("NoSuchWebsiteConfiguration",
                              "The specified bucket does not have a website configuration");
  }
  co_return co_await call.ctx.response.Send(XmlResponse(bucket.website));
}

http::Task<Status> PutBucketWebsite(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  (void)bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxWebsiteBody));
  if (body.empty()) co_return http::ApiStatus("MissingRequestBodyError", "Request Body is empty");
  ANNEX_CO_ASSIGN_OR_RETURN(WebsiteConfig config, ParseWebsiteConfig(body));
  std::string rendered = RenderWebsiteConfig(config);
  ANNEX_CO_RETURN_IF_ERROR(co_await StoreWebsite(call, std::move(rendered)));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> DeleteBucketWebsite(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  (void)bucket;
  std::string none;
  ANNEX_CO_RETURN_IF_ERROR(co_await StoreWebsite(call, std::move(none)));
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

}  // namespace annex::objectstore
