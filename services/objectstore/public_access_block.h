#pragma once
// The PublicAccessBlockConfiguration document of Put/GetPublicAccessBlock,
// and the rule BlockPublicAcls sets for requests that would store a
// public ACL.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

// <PublicAccessBlockConfiguration> with any of its four settings ("true" or
// "false"; an absent one is false). MalformedXML otherwise.
Result<PublicAccessBlock> ParsePublicAccessBlock(std::string_view body);
std::string RenderPublicAccessBlock(const PublicAccessBlock& block);

// AccessDenied when the bucket's BlockPublicAcls refuses a request setting
// `acl` (a public canned ACL or grant) on the bucket or one of its objects.
Status CheckAclNotBlocked(const BucketRecord& bucket, const AccessControlList& acl);

// Whether the bucket's public ACL grants count (IgnorePublicAcls off).
bool PublicAclsHonoured(const BucketRecord& bucket);

// Whether a public bucket policy grants only to the owner's account
// (RestrictPublicBuckets).
bool PublicPolicyRestricted(const BucketRecord& bucket);

}  // namespace annex::objectstore
