// Get/PutBucketAcl, Get/PutObjectAcl (acl.h) and the bucket's ownership
// controls (Get/Put/DeleteBucketOwnershipControls), which decide whether
// ACLs count at all.

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_subresource.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/s3_router.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxAclBody = 64 * 1024;

// The ACL a Put*Acl request sets: x-amz-acl / x-amz-grant-*, or an
// AccessControlPolicy body. `owner_id`: the account owning the bucket (and
// so every object in it).
http::Task<Result<AccessControlList>> ReadRequestedAcl(S3Call& call, std::string_view owner_id) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<AccessControlList> header, ParseAclHeaders(call.headers(), owner_id));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxAclBody));
  if (header) {
    if (!body.empty()) {
      co_return http::ApiStatus("UnexpectedContent", "This request does not support content");
    }
    co_return std::move(*header);
  }
  if (body.empty()) {
    co_return http::ApiStatus("MissingSecurityHeader", "Your request was missing a required header");
  }
  co_return ParseAccessControlPolicy(body);
}

// What Get*Acl shows: with ACLs disabled, only the owner's FULL_CONTROL.
const AccessControlList& ShownAcl(const BucketRecord& bucket, const AccessControlList& acl,
                                  AccessControlList& owner_only) {
  if (AclsEnabled(bucket)) return acl;
  owner_only = CannedAclGrants("private", bucket.owner_id);
  return owner_only;
}

Status OwnershipControlsNotFound() {
  return http::ApiStatus("OwnershipControlsNotFoundError", "The bucket ownership controls were not found");
}

// <OwnershipControls><Rule><ObjectOwnership>…</ObjectOwnership></Rule></OwnershipControls>
Result<ObjectOwnership> ParseOwnershipControls(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "OwnershipControls"));
  std::optional<ObjectOwnership> found;
  int rules = 0;
  ANNEX_RETURN_IF_ERROR(ExpectChildren(doc.document_element(), {"Rule"}));
  for (pugi::xml_node rule : doc.document_element().children("Rule")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(rule, {"ObjectOwnership"}));
    ++rules;
    found = ParseObjectOwnership(http::ChildText(rule, "ObjectOwnership"));
  }
  if (rules != 1 || !found) return MalformedXml();
  return *found;
}

http::Task<Status> StoreOwnership(S3Call& call, std::optional<ObjectOwnership> ownership) {
  co_return co_await UpdateBucket(call, [&](BucketRecord& current) -> Status {
    current.ownership = ownership;
    return Status::OK();
  });
}

}  // namespace

http::Task<Status> GetBucketAcl(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kReadAcp));
  AccessControlList owner_only;
  co_return co_await call.ctx.response.Send(XmlResponse(
      RenderAccessControlPolicy(bucket.owner_id, bucket.owner_name, ShownAcl(bucket, bucket.acl, owner_only))));
}

http::Task<Status> PutBucketAcl(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWriteAcp));
  ANNEX_CO_ASSIGN_OR_RETURN(AccessControlList acl, co_await ReadRequestedAcl(call, bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclSettable(bucket, acl));
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
  BucketRecord bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord object, LoadOwnedObject(call, &bucket, Access::kReadAcp));
  AccessControlList owner_only;
  co_return co_await call.ctx.response.Send(XmlResponse(
      RenderAccessControlPolicy(object.owner_id, object.owner_name, ShownAcl(bucket, object.acl, owner_only))));
}

http::Task<Status> PutObjectAcl(S3Call& call) {
  BucketRecord bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord object, LoadOwnedObject(call, &bucket, Access::kWriteAcp));
  ANNEX_CO_ASSIGN_OR_RETURN(AccessControlList acl, co_await ReadRequestedAcl(call, bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclSettable(bucket, acl));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  const VersionChange set_acl = [&](ObjectRecord& o) {
    o.acl = acl;
    return Status::OK();
  };
  ANNEX_CO_RETURN_IF_ERROR(co_await UpdateObjectVersion(call, version_id, set_acl));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> GetBucketOwnershipControls(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  if (!bucket.ownership) co_return OwnershipControlsNotFound();
  http::XmlDocument doc("OwnershipControls", http::kS3XmlNamespace);
  doc.root().Child("Rule").Add("ObjectOwnership", ObjectOwnershipName(*bucket.ownership));
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> PutBucketOwnershipControls(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxAclBody));
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectOwnership ownership, ParseOwnershipControls(body));
  // S3 refuses to disable ACLs while the bucket's own ACL grants to others.
  if (ownership == ObjectOwnership::kBucketOwnerEnforced) {
    BucketRecord enforced = bucket;
    enforced.ownership = ownership;
    if (!CheckAclSettable(enforced, bucket.acl).ok()) {
      co_return http::ApiStatus("InvalidBucketAclWithObjectOwnership",
                                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
    }
  }
  ANNEX_CO_RETURN_IF_ERROR(co_await StoreOwnership(call, ownership));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

http::Task<Status> DeleteBucketOwnershipControls(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  (void)bucket;
  ANNEX_CO_RETURN_IF_ERROR(co_await StoreOwnership(call, std::nullopt));
  co_return co_await call.ctx.response.Send(EmptyResponse(204));
}

http::Task<Status> GetBucketConfigNotSet(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  (void)bucket;
  std::string_view code = UnsetConfigError(call.request());
  co_return http::ApiStatus(code, "The " + std::string(code) + " configuration does not exist");
}

}  // namespace annex::objectstore
