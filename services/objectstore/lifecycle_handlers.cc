// Put/Get/DeleteBucketLifecycleConfiguration. The rules are checked and
// stored in their rendered form; lifecycle_runner.h applies them.

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/lifecycle_config.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxLifecycleBody = 1 << 20;

// Stores `rendered` as the bucket's configuration ("" removes it).
http::Task<Status> StoreLifecycle(S3Call& call, std::string rendered, int status) {
  std::string replaced;
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    replaced = std::move(current.lifecycle);
    current.lifecycle = rendered;
    return Status::OK();
  }));
  if (replaced != rendered) call.store.lifecycles().Forget(replaced);
  co_return co_await call.ctx.response.Send(EmptyResponse(status));
}

}  // namespace

http::Task<Status> GetBucketLifecycle(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (bucket.lifecycle.empty()) {
    co_return http::ApiStatus("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist");
  }
  co_return co_await call.ctx.response.Send(XmlResponse(std::move(bucket.lifecycle)));
}

http::Task<Status> PutBucketLifecycle(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadCheckedBody(call, kMaxLifecycleBody));
  ANNEX_CO_ASSIGN_OR_RETURN(LifecycleConfiguration config, ParseLifecycleConfiguration(body));
  co_return co_await StoreLifecycle(call, RenderLifecycleConfiguration(config), 200);
}

http::Task<Status> DeleteBucketLifecycle(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  co_return co_await StoreLifecycle(call, "", 204);
}

}  // namespace annex::objectstore
