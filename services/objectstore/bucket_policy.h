#pragma once
// Bucket policies as S3 takes them: the checks PutBucketPolicy makes on top
// of the policy language (appliance/policy) — S3's size limit, `s3:`
// actions only, resources inside the bucket — and S3's definition of a
// public policy, which Block Public Access and GetBucketPolicyStatus use.
//
// Pure functions; the policies are evaluated by the platform's Authorizer,
// never here.

#include <cstddef>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/policy/policy.h"

namespace annex::objectstore {

// S3's limit on a bucket policy: 20 KB, whitespace not counted.
inline constexpr size_t kBucketPolicyMaxBytes = 20 * 1024;

// Validates `document` as the policy of `bucket` and compiles it.
// PolicyTooLarge over the limit; MalformedPolicy, with S3's message, for a
// document that is not a resource policy ("Missing required field
// Principal", "Invalid effect: …"), an action of another service ("Policy
// has invalid action") or a resource outside the bucket ("Policy has
// invalid resource").
Result<policy::Policy> ParseBucketPolicy(std::string_view document, std::string_view bucket);

// Whether S3 counts `p` as public: some Allow statement grants an action that
// reads or writes data (s3:Get*, s3:List*, s3:Put*, s3:Delete*,
// s3:AbortMultipartUpload, s3:RestoreObject) to a principal that is not
// fixed ("*", a wildcard, NotPrincipal, a federated identity), unless a
// condition pins the request to fixed values: aws:SourceIp within CIDRs no
// broader than /8 (IPv4) or /32 (IPv6), or aws:SourceArn, aws:SourceVpc,
// aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, aws:SourceOrgID,
// aws:PrincipalAccount, aws:PrincipalArn, aws:PrincipalOrgID, aws:userid,
// s3:DataAccessPointArn, s3:DataAccessPointAccount or
// s3:x-amz-server-side-encryption-aws-kms-key-id without wildcards or
// policy variables.
bool IsPublicPolicy(const policy::Policy& p);

}  // namespace annex::objectstore
