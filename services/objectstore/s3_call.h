#pragma once
// S3Call: one S3 request on its way through a handler — the request
// context, the shared store and the resolved bucket/key — plus the small
// helpers every handler uses (lookups that map to NoSuchBucket/NoSuchKey,
// XML responses, time and ETag formatting).

#include <functional>
#include <string>
#include <string_view>

#include "appliance/core/strings.h"
#include "appliance/http/xml.h"
#include "appliance/service/request_context.h"
#include "services/objectstore/acl.h"
#include "services/objectstore/object_store.h"
#include "services/objectstore/s3_address.h"
#include "services/objectstore/s3_router.h"

namespace annex::objectstore {

struct S3Call {
  service::RequestContext& ctx;
  ObjectStore& store;
  S3Address address;
  S3Op op = S3Op::kGetObject;  // what the request asks for (s3_actions.h gives its IAM action)
  // PostObject: the form's fields that stand for request headers (its `acl`
  // as x-amz-acl …), which the s3: condition keys are read from.
  const http::Headers* form_headers = nullptr;

  const http::Request& request() const { return ctx.request; }
  const http::Headers& headers() const { return ctx.request.headers; }
  const http::QueryParams& query() const { return ctx.request.query; }
  const std::string& bucket() const { return address.bucket; }
  const std::string& key() const { return address.key; }
};

Status NoSuchBucket();
Status NoSuchKey();
Status NoSuchVersion();
Status NoSuchUpload();

// The bucket's record, or NoSuchBucket. `txn` from store.meta().BeginRead().
Result<BucketRecord> LoadBucket(const store::ReadTxn& txn, const Tables& tables, std::string_view bucket);

// An action on a resource other than the call's own: the source of a copy,
// one key of a DeleteObjects.
struct S3Target {
  std::string_view action;  // "s3:GetObject"
  std::string resource;     // its ARN
};

// Whether the caller may do the call's operation (or `target`) on `bucket`
// (or `object`), as S3 decides (s3_authorize.cc): the platform's Authorizer
// evaluates the caller's identity policies with the bucket policy — within
// the owner's account either allows, across accounts both must, an
// explicit Deny anywhere wins, the owner's root is bound by the bucket
// policy's Denies only (and may always manage the policy itself), anonymous
// callers only by what the policy grants to "*". Where only the bucket's
// side was missing, an ACL grant of `access` counts (acl.h). OK or
// AccessDenied.
Status AuthorizeS3(const S3Call& call, const BucketRecord& bucket, Access access,
                   const ObjectRecord* object = nullptr, const S3Target* target = nullptr);

// The same for an operation on no bucket yet (ListBuckets, CreateBucket):
// the caller's own account, by its policies.
Status AuthorizeS3Account(const S3Call& call);

// Reads the bucket named by the call and checks that the caller may do
// `access` to it (AuthorizeS3): NoSuchBucket / AccessDenied.
Result<BucketRecord> LoadAuthorizedBucket(S3Call& call, Access access);

// Changes the call's bucket record inside one transaction; `change` sees
// the current record and may refuse (NoSuchBucket when it is gone).
http::Task<Status> UpdateBucket(S3Call& call, std::function<Status(BucketRecord&)> change);

// A 200 (or `status`) response carrying an S3 XML document.
http::Response XmlResponse(std::string body, int status = 200);
http::Response EmptyResponse(int status);
// An S3 error response carrying headers besides the XML body (a delete
// marker's x-amz-delete-marker, x-amz-version-id …).
http::Task<Status> SendS3Error(S3Call& call, const Status& error, http::Headers headers);

SystemTime FromMillis(int64_t ms);
std::string Iso8601(int64_t ms);   // 2013-05-24T00:00:00.000Z
std::string HttpDate(int64_t ms);  // Fri, 24 May 2013 00:00:00 GMT
std::string QuoteEtag(std::string_view etag);

// The S3 DisplayName/ID owner element.
void AddOwner(http::XmlNode parent, std::string_view element, std::string_view account_id,
              std::string_view account_name);

}  // namespace annex::objectstore
