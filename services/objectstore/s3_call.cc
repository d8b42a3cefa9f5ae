#include "services/objectstore/s3_call.h"

#include <chrono>

#include "appliance/http/api_error.h"
#include "services/objectstore/acl.h"
#include "services/objectstore/s3_actions.h"

namespace annex::objectstore {

Status NoSuchBucket() { return http::ApiStatus("NoSuchBucket", "The specified bucket does not exist"); }
Status NoSuchKey() { return http::ApiStatus("NoSuchKey", "The specified key does not exist."); }
Status NoSuchUpload() {
  return http::ApiStatus("NoSuchUpload",
                         "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                         "been aborted or completed.");
}

Result<BucketRecord> LoadBucket(const store::ReadTxn& txn, const Tables& tables, std::string_view bucket) {
  ANNEX_ASSIGN_OR_RETURN(auto record, GetBucket(txn, tables, bucket));
  if (!record) return NoSuchBucket();
  return std::move(*record);
}

namespace {

// The request's s3: condition keys (listing parameters, the canned ACL asked for).
void AddS3Keys(const S3Call& call, policy::RequestContext& context) {
  for (std::string_view name : {"prefix", "delimiter", "max-keys"}) {
    if (const std::string* v = call.query().Get(name)) context.Set("s3:" + std::string(name), *v);
  }
  if (const std::string* acl = call.headers().Get("x-amz-acl")) context.Set("s3:x-amz-acl", *acl);
  if (const std::string* source = call.headers().Get("x-amz-copy-source")) context.Set("s3:x-amz-copy-source", *source);
}

// AccessDenied unless the account's policies let the caller (a user of the
// account the resource belongs to) do `action` on `resource`.
Status CheckPolicies(const S3Call& call, std::string_view action, std::string resource, std::string_view owner) {
  const service::Authorizer* authorizer = call.store.options().authorizer;
  if (!authorizer || call.ctx.principal.anonymous || call.ctx.principal.is_root()) return Status::OK();
  service::AccessRequest request;
  request.action = std::string(action);
  request.resource = std::move(resource);
  request.resource_account = std::string(owner);
  AddS3Keys(call, request.context);
  if (authorizer->Check(call.ctx, request).allowed()) return Status::OK();
  return http::ApiStatus("AccessDenied", "Access Denied");
}

}  // namespace

Status AuthorizeS3(const S3Call& call, const BucketRecord& bucket, Access access, const ObjectRecord* object,
                   const S3Target* target) {
  if (!IsOwner(call.ctx.principal, bucket)) return Authorize(call.ctx.principal, bucket, access, object);
  if (target) return CheckPolicies(call, target->action, target->resource, bucket.owner_id);
  S3Permission permission = PermissionFor(call.op);
  switch (permission.resource) {
    case S3Resource::kPublic:
    case S3Resource::kPerKey:  // the handler asks for each key
      return Status::OK();
    case S3Resource::kNone:
      return CheckPolicies(call, permission.action, "*", bucket.owner_id);
    case S3Resource::kBucket:
      return CheckPolicies(call, permission.action, BucketArn(call.bucket()), bucket.owner_id);
    case S3Resource::kObject:
      return CheckPolicies(call, permission.action, ObjectArn(call.bucket(), call.key()), bucket.owner_id);
  }
  return http::ApiStatus("AccessDenied", "Access Denied");
}

Status AuthorizeS3Account(const S3Call& call) {
  S3Permission permission = PermissionFor(call.op);
  std::string resource = permission.resource == S3Resource::kNone ? "*" : BucketArn(call.bucket());
  return CheckPolicies(call, permission.action, std::move(resource), call.ctx.principal.account_id);
}

Result<BucketRecord> LoadAuthorizedBucket(S3Call& call, Access access) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, call.store.meta().tables(), call.bucket()));
  ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, access));
  return bucket;
}

http::Response XmlResponse(std::string body, int status) {
  http::Response r;
  r.status = status;
  r.headers.Set("content-type", "application/xml");
  r.body = std::move(body);
  return r;
}

http::Response EmptyResponse(int status) {
  http::Response r;
  r.status = status;
  return r;
}

SystemTime FromMillis(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
std::string Iso8601(int64_t ms) { return FormatIso8601(FromMillis(ms)); }
std::string HttpDate(int64_t ms) { return FormatHttpDate(FromMillis(ms)); }

std::string QuoteEtag(std::string_view etag) {
  std::string out = "\"";
  out.append(etag);
  out.push_back('"');
  return out;
}

void AddOwner(http::XmlNode parent, std::string_view element, std::string_view account_id,
              std::string_view account_name) {
  parent.Child(element).Add("ID", CanonicalUserId(account_id)).Add("DisplayName", account_name);
}

}  // namespace annex::objectstore
