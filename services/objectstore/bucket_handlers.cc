// Bucket lifecycle: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation, GetBucketVersioning.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/bucket_name.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxConfigBody = 64 * 1024;

// CreateBucket's x-amz-object-ownership (BucketOwnerEnforced when absent,
// as in S3 since April 2023), refused with an ACL granting more than the
// owner's FULL_CONTROL, as S3 refuses it.
Result<std::optional<ObjectOwnership>> RequestedOwnership(const http::Headers& headers,
                                                          const std::optional<AccessControlList>& acl,
                                                          std::string_view owner_id) {
  ObjectOwnership ownership = ObjectOwnership::kBucketOwnerEnforced;
  if (const std::string* name = headers.Get("x-amz-object-ownership")) {
    std::optional<ObjectOwnership> parsed = ParseObjectOwnership(*name);
    if (!parsed) return http::ApiStatus("InvalidArgument", "Invalid x-amz-object-ownership header: " + *name);
    ownership = *parsed;
  }
  if (ownership == ObjectOwnership::kBucketOwnerEnforced && acl) {
    const std::string owner = CanonicalUserId(owner_id);
    for (const Grant& g : *acl) {
      if (g.type != GranteeType::kCanonicalUser || g.grantee != owner) {
        return http::ApiStatus("InvalidBucketAclWithObjectOwnership",
                               "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
      }
    }
  }
  return std::optional<ObjectOwnership>(ownership);
}

Status RequireAccount(const S3Call& call) {
  if (call.ctx.principal.anonymous) return http::ApiStatus("AccessDenied", "Access Denied");
  return Status::OK();
}

// The LocationConstraint of a CreateBucket body ("" when there is none).
Result<std::string> ParseLocationConstraint(std::string_view body) {
  if (Trim(body).empty()) return std::string();
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "CreateBucketConfiguration"));
  pugi::xml_node root = doc.document_element();
  return std::string(http::ChildText(root, "LocationConstraint"));
}

// Deletes the bucket's unfinished multipart uploads and their parts inside
// `txn`, collecting the part files to remove after the commit.
Status DropUploads(store::WriteTxn& txn, const Tables& t, std::string_view bucket, std::vector<std::string>& files) {
  std::string prefix = BucketKeyPrefix(bucket);
  std::vector<std::string> upload_keys;
  std::vector<std::string> upload_ids;
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.uploads));
    ANNEX_RETURN_IF_ERROR(c.Seek(prefix));
    while (c.Valid() && StartsWith(c.key(), prefix)) {
      upload_keys.emplace_back(c.key());
      upload_ids.emplace_back(c.key().substr(c.key().size() - kUploadIdLength));
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  for (const auto& id : upload_ids) {
    ANNEX_ASSIGN_OR_RETURN(std::vector<PartRecord> parts, GetParts(txn, t, id));
    for (auto& p : parts) {
      ANNEX_RETURN_IF_ERROR(txn.Delete(t.parts, EncodePartKey(id, p.number)));
      files.push_back(std::move(p.file_id));
    }
  }
  for (const auto& k : upload_keys) ANNEX_RETURN_IF_ERROR(txn.Delete(t.uploads, k));
  return Status::OK();
}

// A PutBucketVersioning body: Status Enabled or Suspended. MFA delete
// needs a hardware token the appliance has no way to verify: refused.
Result<Versioning> ParseVersioningConfiguration(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "VersioningConfiguration"));
  pugi::xml_node root = doc.document_element();
  std::string_view mfa = http::ChildText(root, "MfaDelete");
  if (mfa == "Enabled") {
    return http::ApiStatus("InvalidArgument", "MFA Delete is not supported: the appliance cannot verify MFA devices");
  }
  if (!mfa.empty() && mfa != "Disabled") return MalformedXml();
  std::string_view status = http::ChildText(root, "Status");
  if (status == "Enabled") return Versioning::kEnabled;
  if (status == "Suspended") return Versioning::kSuspended;
  return MalformedXml();
}

}  // namespace

http::Task<Status> ListBuckets(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(RequireAccount(call));
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeS3Account(call));
  const auth::Principal& me = call.ctx.principal;
  http::XmlDocument doc("ListAllMyBucketsResult", http::kS3XmlNamespace);
  AddOwner(doc.root(), "Owner", me.account_id, me.account_name);
  http::XmlNode list = doc.root().Child("Buckets");
  {
    ANNEX_CO_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    ANNEX_CO_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(call.store.meta().tables().buckets));
    ANNEX_CO_RETURN_IF_ERROR(c.SeekFirst());
    while (c.Valid()) {
      ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord b, DecodeBucket(c.value()));
      if (b.owner_id == me.account_id) {
        list.Child("Bucket").Add("Name", c.key()).Add("CreationDate", Iso8601(b.created_ms));
      }
      ANNEX_CO_RETURN_IF_ERROR(c.Next());
    }
  }
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> CreateBucket(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(RequireAccount(call));
  ANNEX_CO_RETURN_IF_ERROR(ValidateBucketName(call.bucket()));
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeS3Account(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<AccessControlList> acl,
                            ParseAclHeaders(call.headers(), call.ctx.principal.account_id));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<ObjectOwnership> ownership,
                            RequestedOwnership(call.headers(), acl, call.ctx.principal.account_id));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxConfigBody));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string location, ParseLocationConstraint(body));
  const std::string& region = call.store.options().region;
  if (!location.empty() && location != region) {
    co_return http::ApiStatus("IllegalLocationConstraintException",
                              "The " + location +
                                  " location constraint is incompatible for the region specific endpoint this "
                                  "request was sent to.");
  }
  BucketRecord record;
  record.owner_id = call.ctx.principal.account_id;
  record.owner_name = call.ctx.principal.account_name;
  record.created_ms = call.store.NowMillis();
  record.region = region;
  record.acl = AclOrPrivate(std::move(acl), record.owner_id);
  record.ownership = ownership;
  // Object Lock at creation turns versioning on for good (object_lock.h).
  if (EqualsIgnoreCase(Trim(call.headers().GetOr("x-amz-bucket-object-lock-enabled", "")), "true")) {
    record.versioning = Versioning::kEnabled;
    record.object_lock.enabled = true;
  }
  const Tables& t = call.store.meta().tables();
  const std::string& name = call.bucket();
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto existing, GetBucket(txn, t, name));
    if (existing) {
      if (existing->owner_id == record.owner_id) {
        return http::ApiStatus("BucketAlreadyOwnedByYou",
                               "Your previous request to create the named bucket succeeded and you already own it.");
      }
      return http::ApiStatus("BucketAlreadyExists",
                             "The requested bucket name is not available. The bucket namespace is shared by all "
                             "users of the system. Please select a different name and try again.");
    }
    return PutBucket(txn, t, name, record);
  }));
  http::Response r;
  r.headers.Set("location", "/" + name);
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Task<Status> HeadBucket(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kList));
  http::Response r;
  r.headers.Set("x-amz-bucket-region", bucket.region);
  r.headers.Set("x-amz-access-point-alias", "false");
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Task<Status> DeleteBucket(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  const Tables& t = call.store.meta().tables();
  const std::string& name = call.bucket();
  std::vector<std::string> files;
  BucketRecord removed;
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    files.clear();
    ANNEX_ASSIGN_OR_RETURN(auto existing, GetBucket(txn, t, name));
    if (!existing) return NoSuchBucket();
    removed = *existing;
    ANNEX_ASSIGN_OR_RETURN(bool has_objects, BucketHasObjects(txn, t, name));
    if (has_objects) return http::ApiStatus("BucketNotEmpty", "The bucket you tried to delete is not empty");
    ANNEX_RETURN_IF_ERROR(DropUploads(txn, t, name, files));
    return RemoveBucket(txn, t, name);
  }));
  call.store.ForgetBucket(removed);
  Status sent = co_await call.ctx.response.Send(EmptyResponse(204));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(files));
  co_return sent;
}

http::Task<Status> GetBucketLocation(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  http::XmlDocument doc("LocationConstraint", http::kS3XmlNamespace);
  // us-east-1 is the one region S3 reports as an empty constraint.
  if (bucket.region != "us-east-1") doc.root().raw().text().set(bucket.region.c_str());
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> GetBucketVersioning(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  // A bucket never versioned answers an empty configuration.
  http::XmlDocument doc("VersioningConfiguration", http::kS3XmlNamespace);
  if (bucket.versioning != Versioning::kOff) {
    doc.root().Add("Status", bucket.versioning == Versioning::kEnabled ? "Enabled" : "Suspended");
  }
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> PutBucketVersioning(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  (void)bucket;
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxConfigBody));
  ANNEX_CO_ASSIGN_OR_RETURN(Versioning state, ParseVersioningConfiguration(body));
  const Tables& t = call.store.meta().tables();
  const std::string& name = call.bucket();
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, name));
    if (!current) return NoSuchBucket();
    if (current->object_lock.enabled && state != Versioning::kEnabled) {
      return http::ApiStatus("InvalidBucketState",
                             "An Object Lock configuration is present on this bucket, so the versioning state cannot "
                             "be changed.");
    }
    current->versioning = state;
    return PutBucket(txn, t, name, *current);
  }));
  co_return co_await call.ctx.response.Send(EmptyResponse(200));
}

}  // namespace annex::objectstore
