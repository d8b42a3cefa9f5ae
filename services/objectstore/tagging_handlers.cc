// Get/Put/DeleteObjectTagging (one version's tags) and
// Get/Put/DeleteBucketTagging.

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_subresource.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/tagging.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxTaggingBody = 64 * 1024;

// Replaces the tags of the version the call names; answers `status` with
// the version's id.
http::Task<Status> ReplaceObjectTags(S3Call& call, TagSet tags, int status) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ObjectRecord changed;
  const VersionChange set_tags = [&](ObjectRecord& object) {
    object.tags = tags;
    changed.version_id = object.version_id;
    return Status::OK();
  };
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateObjectVersion(call, version_id, set_tags));
  http::Response response = EmptyResponse(status);
  AddVersionIdHeader(bucket, changed, response.headers);
  co_return co_await call.ctx.response.Send(std::move(response));
}

// Replaces the bucket's tags.
http::Task<Status> ReplaceBucketTags(S3Call& call, TagSet tags) {
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    current.tags = tags;
    return Status::OK();
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

}  // namespace

http::Task<Status> GetObjectTagging(S3Call& call) {
  BucketRecord bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord object, LoadOwnedObject(call, &bucket));
  http::Response response = XmlResponse(RenderTagging(object.tags));
  AddVersionIdHeader(bucket, object, response.headers);
  co_return co_await call.ctx.response.Send(std::move(response));
}

http::Task<Status> PutObjectTagging(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxTaggingBody));
  ANNEX_CO_ASSIGN_OR_RETURN(TagSet tags, ParseTaggingDocument(body, kMaxObjectTags));
  co_return co_await ReplaceObjectTags(call, std::move(tags), 200);
}

http::Task<Status> DeleteObjectTagging(S3Call& call) { co_return co_await ReplaceObjectTags(call, {}, 204); }

http::Task<Status> GetBucketTagging(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (bucket.tags.empty()) co_return http::ApiStatus("NoSuchTagSet", "The TagSet does not exist");
  co_return co_await call.ctx.response.Send(XmlResponse(RenderTagging(bucket.tags)));
}

http::Task<Status> PutBucketTagging(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxTaggingBody));
  ANNEX_CO_ASSIGN_OR_RETURN(TagSet tags, ParseTaggingDocument(body, kMaxBucketTags));
  co_return co_await ReplaceBucketTags(call, std::move(tags));
}

http::Task<Status> DeleteBucketTagging(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(LoadAuthorizedBucket(call, Access::kOwner).status());
  co_return co_await ReplaceBucketTags(call, {});
}

}  // namespace annex::objectstore
