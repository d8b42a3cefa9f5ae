// Get/PutBucketAcl and Get/PutObjectAcl for the canned ACLs private and
// public-read (acl.h).

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_subresource.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/s3_router.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxAclBody = 64 * 1024;

// The ACL a Put*Acl request sets: x-amz-acl, or an AccessControlPolicy body.
// `owner_id`: the account owning the bucket (and so every object in it).
http::Task<Result<CannedAcl>> ReadRequestedAcl(S3Call& call, std::string_view owner_id) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<CannedAcl> header, ParseAclHeaders(call.headers()));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxAclBody));
  if (header) {
    if (!body.empty()) {
      co_return http::ApiStatus("UnexpectedContent", "This request does not support content");
    }
    co_return *header;
  }
  if (body.empty()) {
    co_return http::ApiStatus("MissingSecurityHeader", "Your request was missing a required header");
  }
  co_return ParseAccessControlPolicy(body, CanonicalUserId(owner_id));
}

}  // namespace

http::Task<Status> GetBucketAcl(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  co_return co_await call.ctx.response.Send(
      XmlResponse(RenderAccessControlPolicy(bucket.owner_id, bucket.owner_name, bucket.acl)));
}

http::Task<Status> PutBucketAcl(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(CannedAcl acl, co_await ReadRequestedAcl(call, bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclNotBlocked(bucket, acl));
  const Tables& t = call.store.meta().tables();
  const std::string& name = call.bucket();
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, name));
    if (!current) return NoSuchBucket();
    current->acl = acl;
    return PutBucket(txn, t, name, *current);
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> GetObjectAcl(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord object, LoadOwnedObject(call));
  co_return co_await call.ctx.response.Send(
      XmlResponse(RenderAccessControlPolicy(object.owner_id, object.owner_name, object.acl)));
}

http::Task<Status> PutObjectAcl(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(CannedAcl acl, co_await ReadRequestedAcl(call, bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclNotBlocked(bucket, acl));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateObjectVersion(call, version_id, [&](ObjectRecord& object) {
    object.acl = acl;
    return Status::OK();
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> GetBucketConfigNotSet(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  (void)bucket;
  std::string_view code = UnsetConfigError(call.request());
  co_return http::ApiStatus(code, "The " + std::string(code) + " configuration does not exist");
}

}  // namespace annex::objectstore
