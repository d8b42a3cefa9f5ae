#pragma once
// Each S3 operation's IAM action and the resource it is authorized on, as
// AWS's service authorization reference lists them (s3:GetObject on
// arn:aws:s3:::bucket/key, s3:ListBucket on the bucket, …) — the one table
// the object store authorizes by; a unit test checks every operation is in it.

#include <string>
#include <string_view>

#include "services/objectstore/s3_router.h"

namespace annex::objectstore {

enum class S3Resource {
  kNone,    // "*": ListBuckets
  kBucket,  // arn:aws:s3:::bucket
  kObject,  // arn:aws:s3:::bucket/key
  kPerKey,  // DeleteObjects: each key is authorized on its own
  kPublic,  // CORS preflight: answered from the bucket's CORS rules, unauthenticated by design
};

struct S3Permission {
  std::string_view action;  // "s3:GetObject"; empty for kPublic
  S3Resource resource;
};

S3Permission PermissionFor(S3Op op);

// The action S3 authorizes when a request names a version (?versionId=, a
// DeleteObjects entry's VersionId): s3:GetObject → s3:GetObjectVersion …;
// other actions are unchanged.
std::string_view VersionAction(std::string_view action);

std::string BucketArn(std::string_view bucket);
std::string ObjectArn(std::string_view bucket, std::string_view key);

}  // namespace annex::objectstore
