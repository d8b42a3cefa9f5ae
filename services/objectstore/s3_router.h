#pragma once
// S3 routing: the operation a request asks for, from its method, whether it
// names a bucket and a key, its sub-resource query parameters (?acl,
// ?uploads …) and x-amz-copy-source — the same rules as the S3 model.

#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/request.h"

namespace annex::objectstore {

enum class S3Op {
  kListBuckets,
  kCreateBucket,
  kHeadBucket,
  kDeleteBucket,
  kGetBucketLocation,
  kGetBucketVersioning,
  kPutBucketVersioning,
  kGetBucketAcl,
  kPutBucketAcl,
  kGetBucketCors,
  kPutBucketCors,
  kDeleteBucketCors,
  kGetBucketPolicy,
  kPutBucketPolicy,
  kDeleteBucketPolicy,
  kGetBucketPolicyStatus,
  kGetPublicAccessBlock,
  kPutPublicAccessBlock,
  kDeletePublicAccessBlock,
  kListObjects,
  kListObjectsV2,
  kListObjectVersions,
  kListMultipartUploads,
  kDeleteObjects,
  kPutObject,
  kCopyObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kGetObjectAcl,
  kPutObjectAcl,
  kCreateMultipartUpload,
  kUploadPart,
  kUploadPartCopy,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kListParts,
  kGetObjectAttributes,
  kCorsPreflight,
  kGetBucketTagging,
  kPutBucketTagging,
  kDeleteBucketTagging,
  kPutObjectTagging,
  kDeleteObjectTagging,
  kGetBucketEncryption,
  kPutBucketEncryption,
  kDeleteBucketEncryption,
  kGetBucketLifecycle,
  kPutBucketLifecycle,
  kDeleteBucketLifecycle,
  kGetBucketConfigNotSet,  // GET ?lifecycle, ?website … of features never configured here
  kGetObjectTagging,
  kGetObjectLockConfiguration,  // Object Lock (object_lock_handlers.cc)
  kPutObjectLockConfiguration,
  kGetObjectRetention,
  kPutObjectRetention,
  kGetObjectLegalHold,
  kPutObjectLegalHold,
  kPostObject,  // an HTML form upload: POST /bucket, multipart/form-data
  kGetBucketOwnershipControls,
  kPutBucketOwnershipControls,
  kDeleteBucketOwnershipControls,
  kGetBucketWebsite,
  kPutBucketWebsite,
  kDeleteBucketWebsite,
};
// The last operation above: a new one goes before it or moves this along
// (s3_actions_test walks every operation up to here).
inline constexpr S3Op kLastS3Op = S3Op::kDeleteBucketWebsite;

// The operation, or NotImplemented (a known S3 operation this store does
// not offer) / MethodNotAllowed (no S3 operation uses this method here).
Result<S3Op> RouteS3(const http::Request& request, bool has_bucket, bool has_key);

// The S3 API name ("PutObject"), for metrics and logs.
std::string_view S3OpName(S3Op op);

// For kGetBucketConfigNotSet: the "not configured" error S3 answers for the
// request's sub-resource (GET ?lifecycle → NoSuchLifecycleConfiguration …).
std::string_view UnsetConfigError(const http::Request& request);

}  // namespace annex::objectstore
