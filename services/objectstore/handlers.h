#pragma once
// The S3 operations, one small unit each: parse the request, authorize,
// execute against the store, render the response. Each returns an error
// Status before sending anything (the service renders it as S3 XML) or OK
// once it has sent its response.

#include "appliance/http/exchange.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

// bucket_handlers.cc
http::Task<Status> ListBuckets(S3Call& call);
http::Task<Status> CreateBucket(S3Call& call);
http::Task<Status> HeadBucket(S3Call& call);
http::Task<Status> DeleteBucket(S3Call& call);
http::Task<Status> GetBucketLocation(S3Call& call);
http::Task<Status> GetBucketVersioning(S3Call& call);
http::Task<Status> PutBucketVersioning(S3Call& call);

// acl_handlers.cc (also the two above)
http::Task<Status> GetBucketAcl(S3Call& call);
http::Task<Status> PutBucketAcl(S3Call& call);
http::Task<Status> GetObjectAcl(S3Call& call);
http::Task<Status> PutObjectAcl(S3Call& call);
http::Task<Status> GetBucketOwnershipControls(S3Call& call);
http::Task<Status> PutBucketOwnershipControls(S3Call& call);
http::Task<Status> DeleteBucketOwnershipControls(S3Call& call);
// website_handlers.cc
http::Task<Status> GetBucketWebsite(S3Call& call);
http::Task<Status> PutBucketWebsite(S3Call& call);
http::Task<Status> DeleteBucketWebsite(S3Call& call);

// GET of a bucket configuration this store never holds (lifecycle, website…).
http::Task<Status> GetBucketConfigNotSet(S3Call& call);

// tagging_handlers.cc: tags of one object version, or of a bucket.
http::Task<Status> GetObjectTagging(S3Call& call);
http::Task<Status> PutObjectTagging(S3Call& call);
http::Task<Status> DeleteObjectTagging(S3Call& call);
http::Task<Status> GetBucketTagging(S3Call& call);
http::Task<Status> PutBucketTagging(S3Call& call);
http::Task<Status> DeleteBucketTagging(S3Call& call);

// object_lock_handlers.cc: the bucket's Object Lock configuration, one
// version's retention and legal hold.
http::Task<Status> GetObjectLockConfiguration(S3Call& call);
http::Task<Status> PutObjectLockConfiguration(S3Call& call);
http::Task<Status> GetObjectRetention(S3Call& call);
http::Task<Status> PutObjectRetention(S3Call& call);
http::Task<Status> GetObjectLegalHold(S3Call& call);
http::Task<Status> PutObjectLegalHold(S3Call& call);
// encryption_handlers.cc
http::Task<Status> GetBucketEncryption(S3Call& call);
http::Task<Status> PutBucketEncryption(S3Call& call);
http::Task<Status> DeleteBucketEncryption(S3Call& call);

// lifecycle_handlers.cc (the rules run in lifecycle_runner.h)
http::Task<Status> GetBucketLifecycle(S3Call& call);
http::Task<Status> PutBucketLifecycle(S3Call& call);
http::Task<Status> DeleteBucketLifecycle(S3Call& call);

// cors_handlers.cc
http::Task<Status> GetBucketCors(S3Call& call);
http::Task<Status> PutBucketCors(S3Call& call);
http::Task<Status> DeleteBucketCors(S3Call& call);
http::Task<Status> CorsPreflight(S3Call& call);

// bucket_policy_handlers.cc
http::Task<Status> GetBucketPolicy(S3Call& call);
http::Task<Status> PutBucketPolicy(S3Call& call);
http::Task<Status> DeleteBucketPolicy(S3Call& call);
http::Task<Status> GetBucketPolicyStatus(S3Call& call);
http::Task<Status> GetPublicAccessBlock(S3Call& call);
http::Task<Status> PutPublicAccessBlock(S3Call& call);
http::Task<Status> DeletePublicAccessBlock(S3Call& call);

// list_objects.cc
http::Task<Status> ListObjects(S3Call& call, bool v2);
// ListObjectVersions: every version and delete marker; in a bucket never
// versioned, each object's one `null` version.
http::Task<Status> ListObjectVersions(S3Call& call);

// object_put.cc
http::Task<Status> PutObject(S3Call& call);
// post_object.cc: an upload from an HTML form, authorized by its signed policy
http::Task<Status> PostObject(S3Call& call);
// object_get.cc (HEAD when `head`)
http::Task<Status> GetObject(S3Call& call, bool head);
// object_attributes.cc
http::Task<Status> GetObjectAttributes(S3Call& call);
// object_copy.cc
http::Task<Status> CopyObject(S3Call& call);
// object_delete.cc
http::Task<Status> DeleteObject(S3Call& call);
http::Task<Status> DeleteObjects(S3Call& call);

// multipart_upload.cc
http::Task<Status> CreateMultipartUpload(S3Call& call);
http::Task<Status> UploadPart(S3Call& call, bool copy);
http::Task<Status> AbortMultipartUpload(S3Call& call);
// multipart_complete.cc
http::Task<Status> CompleteMultipartUpload(S3Call& call);
// multipart_list.cc
http::Task<Status> ListParts(S3Call& call);
http::Task<Status> ListMultipartUploads(S3Call& call);

}  // namespace annex::objectstore
