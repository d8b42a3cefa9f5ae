#include "services/objectstore/s3_actions.h"

namespace annex::objectstore {

S3Permission PermissionFor(S3Op op) {
  using R = S3Resource;
  switch (op) {
    case S3Op::kListBuckets: return {"s3:ListAllMyBuckets", R::kNone};
    case S3Op::kCreateBucket: return {"s3:CreateBucket", R::kBucket};
    case S3Op::kHeadBucket: return {"s3:ListBucket", R::kBucket};
    case S3Op::kDeleteBucket: return {"s3:DeleteBucket", R::kBucket};
    case S3Op::kGetBucketLocation: return {"s3:GetBucketLocation", R::kBucket};
    case S3Op::kGetBucketVersioning: return {"s3:GetBucketVersioning", R::kBucket};
    case S3Op::kPutBucketVersioning: return {"s3:PutBucketVersioning", R::kBucket};
    case S3Op::kGetBucketAcl: return {"s3:GetBucketAcl", R::kBucket};
    case S3Op::kPutBucketAcl: return {"s3:PutBucketAcl", R::kBucket};
    case S3Op::kGetBucketCors: return {"s3:GetBucketCORS", R::kBucket};
    case S3Op::kPutBucketCors: return {"s3:PutBucketCORS", R::kBucket};
    case S3Op::kDeleteBucketCors: return {"s3:PutBucketCORS", R::kBucket};  // S3 authorizes the delete as a put
    case S3Op::kGetBucketPolicy: return {"s3:GetBucketPolicy", R::kBucket};
    case S3Op::kPutBucketPolicy: return {"s3:PutBucketPolicy", R::kBucket};
    case S3Op::kDeleteBucketPolicy: return {"s3:DeleteBucketPolicy", R::kBucket};
    case S3Op::kGetBucketPolicyStatus: return {"s3:GetBucketPolicyStatus", R::kBucket};
    case S3Op::kGetPublicAccessBlock: return {"s3:GetBucketPublicAccessBlock", R::kBucket};
    case S3Op::kPutPublicAccessBlock: return {"s3:PutBucketPublicAccessBlock", R::kBucket};
    case S3Op::kDeletePublicAccessBlock: return {"s3:PutBucketPublicAccessBlock", R::kBucket};  // as a put, too
    case S3Op::kListObjects: return {"s3:ListBucket", R::kBucket};
    case S3Op::kListObjectsV2: return {"s3:ListBucket", R::kBucket};
    case S3Op::kListObjectVersions: return {"s3:ListBucketVersions", R::kBucket};
    case S3Op::kListMultipartUploads: return {"s3:ListBucketMultipartUploads", R::kBucket};
    case S3Op::kDeleteObjects: return {"s3:DeleteObject", R::kPerKey};
    case S3Op::kPutObject: return {"s3:PutObject", R::kObject};
    case S3Op::kCopyObject: return {"s3:PutObject", R::kObject};  // and s3:GetObject on the source
    case S3Op::kGetObject: return {"s3:GetObject", R::kObject};
    case S3Op::kHeadObject: return {"s3:GetObject", R::kObject};
    case S3Op::kDeleteObject: return {"s3:DeleteObject", R::kObject};
    case S3Op::kGetObjectAcl: return {"s3:GetObjectAcl", R::kObject};
    case S3Op::kPutObjectAcl: return {"s3:PutObjectAcl", R::kObject};
    case S3Op::kCreateMultipartUpload: return {"s3:PutObject", R::kObject};
    case S3Op::kUploadPart: return {"s3:PutObject", R::kObject};
    case S3Op::kUploadPartCopy: return {"s3:PutObject", R::kObject};  // and s3:GetObject on the source
    case S3Op::kCompleteMultipartUpload: return {"s3:PutObject", R::kObject};
    case S3Op::kAbortMultipartUpload: return {"s3:AbortMultipartUpload", R::kObject};
    case S3Op::kListParts: return {"s3:ListMultipartUploadParts", R::kObject};
    // and s3:GetObject (object_attributes.cc); with a version id AWS names s3:GetObjectVersionAttributes.
    case S3Op::kGetObjectAttributes: return {"s3:GetObjectAttributes", R::kObject};
    case S3Op::kCorsPreflight: return {"", R::kPublic};
    // The "none" answers of GET ?lifecycle, ?website …: one read permission stands for them all.
    case S3Op::kGetBucketConfigNotSet: return {"s3:GetBucketPolicy", R::kBucket};
    case S3Op::kGetObjectTagging: return {"s3:GetObjectTagging", R::kObject};
    case S3Op::kPutObjectTagging: return {"s3:PutObjectTagging", R::kObject};
    case S3Op::kDeleteObjectTagging: return {"s3:DeleteObjectTagging", R::kObject};
    case S3Op::kGetBucketTagging: return {"s3:GetBucketTagging", R::kBucket};
    case S3Op::kPutBucketTagging: return {"s3:PutBucketTagging", R::kBucket};
    case S3Op::kDeleteBucketTagging: return {"s3:PutBucketTagging", R::kBucket};  // as a put, as S3 does
    case S3Op::kGetBucketOwnershipControls: return {"s3:GetBucketOwnershipControls", R::kBucket};
    case S3Op::kPutBucketOwnershipControls: return {"s3:PutBucketOwnershipControls", R::kBucket};
    case S3Op::kDeleteBucketOwnershipControls: return {"s3:PutBucketOwnershipControls", R::kBucket};
    case S3Op::kGetBucketWebsite: return {"s3:GetBucketWebsite", R::kBucket};
    case S3Op::kPutBucketWebsite: return {"s3:PutBucketWebsite", R::kBucket};
    case S3Op::kDeleteBucketWebsite: return {"s3:DeleteBucketWebsite", R::kBucket};
    case S3Op::kGetBucketEncryption: return {"s3:GetEncryptionConfiguration", R::kBucket};
    case S3Op::kPutBucketEncryption: return {"s3:PutEncryptionConfiguration", R::kBucket};
    case S3Op::kDeleteBucketEncryption: return {"s3:PutEncryptionConfiguration", R::kBucket};  // as a put
    case S3Op::kGetBucketLifecycle: return {"s3:GetLifecycleConfiguration", R::kBucket};
    case S3Op::kPutBucketLifecycle: return {"s3:PutLifecycleConfiguration", R::kBucket};
    case S3Op::kDeleteBucketLifecycle: return {"s3:PutLifecycleConfiguration", R::kBucket};  // as a put, too
    case S3Op::kPostObject: return {"s3:PutObject", R::kObject};  // on the key the form names
    case S3Op::kGetObjectLockConfiguration: return {"s3:GetBucketObjectLockConfiguration", R::kBucket};
    case S3Op::kPutObjectLockConfiguration: return {"s3:PutBucketObjectLockConfiguration", R::kBucket};
    case S3Op::kGetObjectRetention: return {"s3:GetObjectRetention", R::kObject};
    case S3Op::kPutObjectRetention: return {"s3:PutObjectRetention", R::kObject};
    case S3Op::kGetObjectLegalHold: return {"s3:GetObjectLegalHold", R::kObject};
    case S3Op::kPutObjectLegalHold: return {"s3:PutObjectLegalHold", R::kObject};
  }
  return {"s3:*", R::kBucket};  // unreachable: every operation is listed above (s3_actions_test)
}

std::string_view VersionAction(std::string_view action) {
  static constexpr std::pair<std::string_view, std::string_view> kVersionActions[] = {
      {"s3:GetObject", "s3:GetObjectVersion"},
      {"s3:DeleteObject", "s3:DeleteObjectVersion"},
      {"s3:GetObjectAcl", "s3:GetObjectVersionAcl"},
      {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"},
      {"s3:GetObjectTagging", "s3:GetObjectVersionTagging"},
      {"s3:PutObjectTagging", "s3:PutObjectVersionTagging"},
      {"s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"},
      {"s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"},
  };
  for (const auto& [plain, versioned] : kVersionActions) {
    if (action == plain) return versioned;
  }
  return action;
}

std::string BucketArn(std::string_view bucket) { return "arn:aws:s3:::" + std::string(bucket); }

std::string ObjectArn(std::string_view bucket, std::string_view key) {
  return "arn:aws:s3:::" + std::string(bucket) + "/" + std::string(key);
}

}  // namespace annex::objectstore
