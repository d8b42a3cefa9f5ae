#pragma once
// Access control: who may do what to a bucket or object, and the canned
// ACLs (private, public-read) with their S3 XML form.
//
// The owning account has full access (its users act as the account for
// now). Everyone else — other accounts and anonymous callers — is denied,
// except that public-read on the bucket grants listing and reading its
// objects, and public-read on an object grants reading that object.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/auth/principal.h"
#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

enum class Access {
  kReadObject,  // GetObject, HeadObject, copy source
  kList,        // ListObjects, HeadBucket by non-owners
  kOwner,       // everything else
};

// The stable 64-hex canonical user id S3 shows for an account.
std::string CanonicalUserId(std::string_view account_id);

bool IsOwner(const auth::Principal& p, const BucketRecord& bucket);

// OK or AccessDenied. `object` may be null (bucket-level access).
Status Authorize(const auth::Principal& p, const BucketRecord& bucket, Access access,
                 const ObjectRecord* object = nullptr);

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
