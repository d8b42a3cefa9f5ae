#include "services/objectstore/s3_router.h"

#include <array>

#include "appliance/http/api_error.h"
#include "services/objectstore/s3_call.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

// Sub-resources of S3 operations this store does not implement.
constexpr std::array<std::string_view, 14> kUnsupportedSubresources = {
    "accelerate", "analytics", "intelligent-tiering", "inventory", "logging", "metrics", "notification",
    "replication", "requestPayment", "restore", "select", "torrent", "session", "renameObject",
};

// Bucket sub-resources served here that name nothing on an object.
constexpr std::array<std::string_view, 9> kBucketOnlySubresources = {
    "policy",    "policyStatus", "publicAccessBlock", "versions", "lifecycle", "object-lock", "encryption",
    "ownershipControls", "website"};

// Bucket sub-resources that have no DELETE: a DELETE naming one must not
// fall through to DeleteBucket.
constexpr std::array<std::string_view, 9> kUndeletableBucketSubresources = {
    "acl", "versioning", "location", "uploads", "versions", "policyStatus", "object-lock", "delete", "attributes"};

// Bucket configurations this store never holds, and how S3 says "none".
struct UnsetConfig {
  std::string_view subresource;
  std::string_view error;
};
constexpr std::array<UnsetConfig, 1> kUnsetConfigs = {{
    {"replication", "ReplicationConfigurationNotFoundError"},
}};

Status NotImplemented() {
  return http::ApiStatus("NotImplemented", "A header you provided implies functionality that is not implemented");
}

Status MethodNotAllowed() {
  return http::ApiStatus("MethodNotAllowed", "The specified method is not allowed against this resource.");
}

Result<S3Op> RouteBucket(const http::Request& r) {
  const auto& q = r.query;
  const std::string& m = r.method;
  if (m == "GET") {
    if (!UnsetConfigError(r).empty()) return S3Op::kGetBucketConfigNotSet;
    if (q.Has("acl")) return S3Op::kGetBucketAcl;
    if (q.Has("ownershipControls")) return S3Op::kGetBucketOwnershipControls;
    if (q.Has("website")) return S3Op::kGetBucketWebsite;
    if (q.Has("object-lock")) return S3Op::kGetObjectLockConfiguration;
    if (q.Has("tagging")) return S3Op::kGetBucketTagging;
    if (q.Has("lifecycle")) return S3Op::kGetBucketLifecycle;
    if (q.Has("encryption")) return S3Op::kGetBucketEncryption;
    if (q.Has("policy")) return S3Op::kGetBucketPolicy;
    if (q.Has("policyStatus")) return S3Op::kGetBucketPolicyStatus;
    if (q.Has("publicAccessBlock")) return S3Op::kGetPublicAccessBlock;
    if (q.Has("cors")) return S3Op::kGetBucketCors;
    if (q.Has("location")) return S3Op::kGetBucketLocation;
    if (q.Has("versioning")) return S3Op::kGetBucketVersioning;
    if (q.Has("uploads")) return S3Op::kListMultipartUploads;
    if (q.Has("versions")) return S3Op::kListObjectVersions;
    const std::string* list_type = q.Get("list-type");
    if (list_type && *list_type == "2") return S3Op::kListObjectsV2;
    return S3Op::kListObjects;
  }
  if (m == "PUT") {
    if (q.Has("acl")) return S3Op::kPutBucketAcl;
    if (q.Has("ownershipControls")) return S3Op::kPutBucketOwnershipControls;
    if (q.Has("website")) return S3Op::kPutBucketWebsite;
    if (q.Has("object-lock")) return S3Op::kPutObjectLockConfiguration;
    if (q.Has("tagging")) return S3Op::kPutBucketTagging;
    if (q.Has("lifecycle")) return S3Op::kPutBucketLifecycle;
    if (q.Has("encryption")) return S3Op::kPutBucketEncryption;
    if (q.Has("cors")) return S3Op::kPutBucketCors;
    if (q.Has("policy")) return S3Op::kPutBucketPolicy;
    if (q.Has("publicAccessBlock")) return S3Op::kPutPublicAccessBlock;
    if (q.Has("versioning")) return S3Op::kPutBucketVersioning;
    return S3Op::kCreateBucket;
  }
  if (m == "HEAD") return S3Op::kHeadBucket;
  if (m == "DELETE") {
    if (q.Has("ownershipControls")) return S3Op::kDeleteBucketOwnershipControls;
    if (q.Has("website")) return S3Op::kDeleteBucketWebsite;
    if (q.Has("tagging")) return S3Op::kDeleteBucketTagging;
    if (q.Has("lifecycle")) return S3Op::kDeleteBucketLifecycle;
    if (q.Has("encryption")) return S3Op::kDeleteBucketEncryption;
    if (q.Has("cors")) return S3Op::kDeleteBucketCors;
    if (q.Has("policy")) return S3Op::kDeleteBucketPolicy;
    if (q.Has("publicAccessBlock")) return S3Op::kDeletePublicAccessBlock;
    for (auto sub : kUndeletableBucketSubresources) {
      if (q.Has(sub)) return MethodNotAllowed();  // Object Lock, versioning … are never removed
    }
    return S3Op::kDeleteBucket;
  }
  if (m == "POST") {
    if (q.Has("delete")) return S3Op::kDeleteObjects;
    return S3Op::kPostObject;  // which refuses anything but a form
  }
  if (m == "OPTIONS") return S3Op::kCorsPreflight;
  return MethodNotAllowed();
}

Result<S3Op> RouteObject(const http::Request& r) {
  const auto& q = r.query;
  const std::string& m = r.method;
  if (m == "GET") {
    if (q.Has("acl")) return S3Op::kGetObjectAcl;
    if (q.Has("retention")) return S3Op::kGetObjectRetention;
    if (q.Has("legal-hold")) return S3Op::kGetObjectLegalHold;
    if (q.Has("tagging")) return S3Op::kGetObjectTagging;
    if (q.Has("attributes")) return S3Op::kGetObjectAttributes;
    if (q.Has("uploadId")) return S3Op::kListParts;
    return S3Op::kGetObject;
  }
  if (m == "HEAD") return S3Op::kHeadObject;
  if (m == "PUT") {
    if (q.Has("acl")) return S3Op::kPutObjectAcl;
    if (q.Has("retention")) return S3Op::kPutObjectRetention;
    if (q.Has("legal-hold")) return S3Op::kPutObjectLegalHold;
    if (q.Has("tagging")) return S3Op::kPutObjectTagging;
    bool copy = r.headers.Has("x-amz-copy-source");
    if (q.Has("partNumber") || q.Has("uploadId")) return copy ? S3Op::kUploadPartCopy : S3Op::kUploadPart;
    return copy ? S3Op::kCopyObject : S3Op::kPutObject;
  }
  if (m == "DELETE") {
    if (q.Has("tagging")) return S3Op::kDeleteObjectTagging;
    // S3 has no DELETE of a retention or a legal hold: never the object's delete.
    if (q.Has("retention") || q.Has("legal-hold")) return MethodNotAllowed();
    return q.Has("uploadId") ? S3Op::kAbortMultipartUpload : S3Op::kDeleteObject;
  }
  if (m == "POST") {
    if (q.Has("uploads")) return S3Op::kCreateMultipartUpload;
    if (q.Has("uploadId")) return S3Op::kCompleteMultipartUpload;
    return MethodNotAllowed();  // as S3: no POST names an object without a sub-resource
  }
  if (m == "OPTIONS") return S3Op::kCorsPreflight;
  return MethodNotAllowed();
}

}  // namespace

Result<S3Op> RouteS3(const http::Request& request, bool has_bucket, bool has_key) {
  if (request.method == "GET" && has_bucket && !has_key && !UnsetConfigError(request).empty()) {
    return S3Op::kGetBucketConfigNotSet;
  }
  for (auto sub : kUnsupportedSubresources) {
    if (request.query.Has(sub)) return NotImplemented();
  }
  // ?attributes is GetObjectAttributes, GET on an object only.
  if (request.query.Has("attributes") && (!has_key || request.method != "GET") && request.method != "OPTIONS") {
    return NotImplemented();
  }
  for (auto sub : kBucketOnlySubresources) {
    if (has_key && request.query.Has(sub)) return NotImplemented();
  }
  if (has_key) {
    if (const std::string* version = request.query.Get("versionId")) {
      ANNEX_RETURN_IF_ERROR(ParseVersionId(*version).status());
    }
  }
  // Versions are only listed.
  if (has_bucket && !has_key && request.query.Has("versions") && request.method != "GET" &&
      request.method != "OPTIONS") {
    return MethodNotAllowed();
  }
  if (!has_bucket) {
    // "//key": a key without a bucket names nothing; it must not fall back to the service.
    if (has_key) return http::ApiStatus("InvalidBucketName", "The specified bucket is not valid.");
    if (request.method == "GET") return S3Op::kListBuckets;
    if (request.method == "OPTIONS") return S3Op::kCorsPreflight;
    return MethodNotAllowed();
  }
  return has_key ? RouteObject(request) : RouteBucket(request);
}

std::string_view S3OpName(S3Op op) {
  switch (op) {
    case S3Op::kListBuckets: return "ListBuckets";
    case S3Op::kCreateBucket: return "CreateBucket";
    case S3Op::kHeadBucket: return "HeadBucket";
    case S3Op::kDeleteBucket: return "DeleteBucket";
    case S3Op::kGetBucketLocation: return "GetBucketLocation";
    case S3Op::kGetBucketVersioning: return "GetBucketVersioning";
    case S3Op::kPutBucketVersioning: return "PutBucketVersioning";
    case S3Op::kGetBucketAcl: return "GetBucketAcl";
    case S3Op::kPutBucketAcl: return "PutBucketAcl";
    case S3Op::kGetBucketCors: return "GetBucketCors";
    case S3Op::kPutBucketCors: return "PutBucketCors";
    case S3Op::kDeleteBucketCors: return "DeleteBucketCors";
    case S3Op::kGetBucketPolicy: return "GetBucketPolicy";
    case S3Op::kPutBucketPolicy: return "PutBucketPolicy";
    case S3Op::kDeleteBucketPolicy: return "DeleteBucketPolicy";
    case S3Op::kGetBucketPolicyStatus: return "GetBucketPolicyStatus";
    case S3Op::kGetPublicAccessBlock: return "GetPublicAccessBlock";
    case S3Op::kPutPublicAccessBlock: return "PutPublicAccessBlock";
    case S3Op::kDeletePublicAccessBlock: return "DeletePublicAccessBlock";
    case S3Op::kListObjects: return "ListObjects";
    case S3Op::kListObjectsV2: return "ListObjectsV2";
    case S3Op::kListObjectVersions: return "ListObjectVersions";
    case S3Op::kListMultipartUploads: return "ListMultipartUploads";
    case S3Op::kDeleteObjects: return "DeleteObjects";
    case S3Op::kPutObject: return "PutObject";
    case S3Op::kCopyObject: return "CopyObject";
    case S3Op::kGetObject: return "GetObject";
    case S3Op::kHeadObject: return "HeadObject";
    case S3Op::kDeleteObject: return "DeleteObject";
    case S3Op::kGetObjectAcl: return "GetObjectAcl";
    case S3Op::kPutObjectAcl: return "PutObjectAcl";
    case S3Op::kCreateMultipartUpload: return "CreateMultipartUpload";
    case S3Op::kUploadPart: return "UploadPart";
    case S3Op::kUploadPartCopy: return "UploadPartCopy";
    case S3Op::kCompleteMultipartUpload: return "CompleteMultipartUpload";
    case S3Op::kAbortMultipartUpload: return "AbortMultipartUpload";
    case S3Op::kListParts: return "ListParts";
    case S3Op::kGetObjectAttributes: return "GetObjectAttributes";
    case S3Op::kCorsPreflight: return "CorsPreflight";
    case S3Op::kGetBucketConfigNotSet: return "GetBucketConfiguration";
    case S3Op::kGetObjectTagging: return "GetObjectTagging";
    case S3Op::kPutObjectTagging: return "PutObjectTagging";
    case S3Op::kDeleteObjectTagging: return "DeleteObjectTagging";
    case S3Op::kGetBucketTagging: return "GetBucketTagging";
    case S3Op::kPutBucketTagging: return "PutBucketTagging";
    case S3Op::kDeleteBucketTagging: return "DeleteBucketTagging";
    case S3Op::kGetBucketEncryption: return "GetBucketEncryption";
    case S3Op::kPutBucketEncryption: return "PutBucketEncryption";
    case S3Op::kDeleteBucketEncryption: return "DeleteBucketEncryption";
    case S3Op::kGetBucketLifecycle: return "GetBucketLifecycleConfiguration";
    case S3Op::kPutBucketLifecycle: return "PutBucketLifecycleConfiguration";
    case S3Op::kDeleteBucketLifecycle: return "DeleteBucketLifecycle";
    case S3Op::kGetObjectLockConfiguration: return "GetObjectLockConfiguration";
    case S3Op::kPutObjectLockConfiguration: return "PutObjectLockConfiguration";
    case S3Op::kGetObjectRetention: return "GetObjectRetention";
    case S3Op::kPutObjectRetention: return "PutObjectRetention";
    case S3Op::kGetObjectLegalHold: return "GetObjectLegalHold";
    case S3Op::kPutObjectLegalHold: return "PutObjectLegalHold";
    case S3Op::kPostObject: return "PostObject";
    case S3Op::kGetBucketOwnershipControls: return "GetBucketOwnershipControls";
    case S3Op::kPutBucketOwnershipControls: return "PutBucketOwnershipControls";
    case S3Op::kDeleteBucketOwnershipControls: return "DeleteBucketOwnershipControls";
    case S3Op::kGetBucketWebsite: return "GetBucketWebsite";
    case S3Op::kPutBucketWebsite: return "PutBucketWebsite";
    case S3Op::kDeleteBucketWebsite: return "DeleteBucketWebsite";
  }
  return "Unknown";
}

std::string_view UnsetConfigError(const http::Request& request) {
  for (const auto& c : kUnsetConfigs) {
    if (request.query.Has(c.subresource)) return c.error;
  }
  return "";
}

}  // namespace annex::objectstore
