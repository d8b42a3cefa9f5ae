// Object Lock: Get/PutObjectLockConfiguration (the bucket's), and
// Get/PutObjectRetention and Get/PutObjectLegalHold (one version's). The
// rules are in object_lock.h; deletes enforce them in object_delete.cc and
// lifecycle_runner.cc.

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/object_subresource.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxLockBody = 64 * 1024;

Status NoLockConfiguration() {
  return http::ApiStatus("NoSuchObjectLockConfiguration",
                         "The specified object does not have a ObjectLock configuration");
}

// Changes the lock state of the version the call names; `change` sees the
// version's state and may refuse.
http::Task<Status> ChangeVersionLock(S3Call& call, std::function<Status(ObjectLockState&)> change) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  const VersionChange change_lock = [&](ObjectRecord& object) { return change(object.lock); };
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateObjectVersion(call, version_id, change_lock));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

}  // namespace

http::Task<Status> GetObjectLockConfiguration(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (!bucket.object_lock.enabled) {
    co_return http::ApiStatus("ObjectLockConfigurationNotFoundError",
                              "Object Lock configuration does not exist for this bucket");
  }
  co_return co_await call.ctx.response.Send(XmlResponse(RenderObjectLockConfiguration(bucket.object_lock)));
}

http::Task<Status> PutObjectLockConfiguration(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadCheckedBody(call, kMaxLockBody));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketObjectLock config, ParseObjectLockConfiguration(body));
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    // S3 lets a versioned bucket turn Object Lock on; it never turns off.
    if (current.versioning != Versioning::kEnabled) {
      return http::ApiStatus("InvalidBucketState",
                             "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
    }
    current.object_lock = config;
    return Status::OK();
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> GetObjectRetention(S3Call& call) {
  BucketRecord bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord object, LoadOwnedObject(call, &bucket));
  ANNEX_CO_RETURN_IF_ERROR(RequireObjectLock(bucket));
  if (object.lock.mode == LockMode::kNone) co_return NoLockConfiguration();
  co_return co_await call.ctx.response.Send(XmlResponse(RenderRetention(object.lock)));
}

http::Task<Status> PutObjectRetention(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadCheckedBody(call, kMaxLockBody));
  ANNEX_CO_RETURN_IF_ERROR(RequireObjectLock(bucket));
  const int64_t now = call.store.NowMillis();
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectLockState wanted, ParseRetention(body, now));
  const bool bypass = GovernanceBypassed(call, bucket, call.key());
  co_return co_await ChangeVersionLock(call, [&](ObjectLockState& lock) -> Status {
    ANNEX_RETURN_IF_ERROR(CheckRetentionChange(lock, wanted, now, bypass));
    lock.mode = wanted.mode;
    lock.retain_until_ms = wanted.retain_until_ms;
    return Status::OK();
  });
}

http::Task<Status> GetObjectLegalHold(S3Call& call) {
  BucketRecord bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord object, LoadOwnedObject(call, &bucket));
  ANNEX_CO_RETURN_IF_ERROR(RequireObjectLock(bucket));
  if (!object.lock.legal_hold_set) co_return NoLockConfiguration();
  co_return co_await call.ctx.response.Send(XmlResponse(RenderLegalHold(object.lock.legal_hold)));
}

http::Task<Status> PutObjectLegalHold(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadCheckedBody(call, kMaxLockBody));
  ANNEX_CO_RETURN_IF_ERROR(RequireObjectLock(bucket));
  ANNEX_CO_ASSIGN_OR_RETURN(bool on, ParseLegalHold(body));
  co_return co_await ChangeVersionLock(call, [on](ObjectLockState& lock) {
    lock.legal_hold = on;
    lock.legal_hold_set = true;
    return Status::OK();
  });
}

}  // namespace annex::objectstore
