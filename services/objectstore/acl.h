#pragma once
// The canned ACLs (private, public-read) with their S3 XML form, and what
// they grant. The owner's FULL_CONTROL is its own account's business
// (identity and bucket policies, s3_call.h); the only other grant an ACL
// can hold is AllUsers READ, which S3 reads as: on a bucket, listing it;
// on an object, reading that object. A public-read bucket does not make
// its objects readable.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/auth/principal.h"
#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

// What a request needs from an ACL grant.
enum class Access {
  kReadObject,  // GetObject, HeadObject, copy source: the object's READ
  kList,        // ListObjects, ListMultipartUploads, HeadBucket: the bucket's READ
  kOwner,       // everything else: no ACL grants it
};

// The stable 64-hex canonical user id S3 shows for an account.
std::string CanonicalUserId(std::string_view account_id);

bool IsOwner(const auth::Principal& p, const BucketRecord& bucket);

// Whether the bucket's or the object's public-read ACL grants `access` to
// anyone; never when the bucket's IgnorePublicAcls is on. `object` may be
// null (a missing object, or bucket-level access).
bool PublicAclGrants(const BucketRecord& bucket, Access access, const ObjectRecord* object = nullptr);

// Reads x-amz-acl. nullopt when absent; NotImplemented for canned ACLs
// other than private/public-read and for x-amz-grant-* headers.
Result<std::optional<CannedAcl>> ParseAclHeaders(const http::Headers& headers);

// An AccessControlPolicy body → canned ACL: the owner's FULL_CONTROL (its
// canonical id `owner_canonical_id`), plus an AllUsers READ grant for
// public-read. Any other grant — another user, an email address, another
// group or permission — is NotImplemented, never silently dropped;
// MalformedACLError for a body or grant that is not an ACL.
Result<CannedAcl> ParseAccessControlPolicy(std::string_view body, std::string_view owner_canonical_id);

// <AccessControlPolicy> for an owner and canned ACL.
std::string RenderAccessControlPolicy(std::string_view owner_id, std::string_view owner_name, CannedAcl acl);

}  // namespace annex::objectstore
