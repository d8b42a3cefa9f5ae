#pragma once
// S3's own error codes and the HTTP statuses the S3 API reference gives them
// (the platform's codes — signatures, throttling, internal errors — are in
// appliance/http/api_error.cc).

#include <array>

#include "appliance/http/api_error.h"

namespace annex::objectstore {

inline constexpr auto kS3Errors = std::to_array<http::ErrorCodeStatus>({
    {"AccessControlListNotSupported", 400},
    {"AccountProblem", 403},
    {"BadDigest", 400},
    {"BucketAlreadyExists", 409},
    {"BucketAlreadyOwnedByYou", 409},
    {"BucketNotEmpty", 409},
    {"CORSForbidden", 403},
    {"EntityTooLarge", 400},
    {"EntityTooSmall", 400},
    {"IllegalLocationConstraintException", 400},
    {"InvalidBucketAclWithObjectOwnership", 400},
    {"InvalidBucketName", 400},
    {"InvalidBucketState", 409},
    {"InvalidDigest", 400},
    {"InvalidPart", 400},
    {"InvalidPartNumber", 416},
    {"InvalidPartOrder", 400},
    {"InvalidRange", 416},
    {"InvalidStorageClass", 400},
    {"InvalidTag", 400},
    {"InvalidPolicyDocument", 400},
    {"InvalidRedirectLocation", 400},
    {"KeyTooLongError", 400},
    {"MalformedACLError", 400},
    {"MalformedPOSTRequest", 400},
    {"MalformedPolicy", 400},
    {"MaxPostPreDataLengthExceededError", 400},
    {"MetadataTooLarge", 400},
    {"MissingRequestBodyError", 400},
    {"MissingSecurityHeader", 400},
    {"NoSuchBucket", 404, "The specified bucket does not exist"},
    {"NoSuchBucketPolicy", 404},
    {"NoSuchCORSConfiguration", 404},
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"NoSuchLifecycleConfiguration", 404},
    {"NoSuchObjectLockConfiguration", 404},
    {"NoSuchPublicAccessBlockConfiguration", 404},
    {"NoSuchTagSet", 404},
    {"NoSuchUpload", 404, "The specified upload does not exist."},
    {"NoSuchVersion", 404, "The specified version does not exist."},
    {"NoSuchWebsiteConfiguration", 404},
    {"NotModified", 304},
    {"ObjectLockConfigurationNotFoundError", 404},
    {"OperationAborted", 409},
    {"OwnershipControlsNotFoundError", 404},
    {"PolicyTooLarge", 400},
    {"PreconditionFailed", 412},
    {"ReplicationConfigurationNotFoundError", 404},
    {"ServerSideEncryptionConfigurationNotFoundError", 404},
    {"UnresolvableGrantByEmailAddress", 400},
});

}  // namespace annex::objectstore
