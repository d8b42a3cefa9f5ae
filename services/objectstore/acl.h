#pragma once
// S3 access control lists: the canned ACLs and explicit grants (x-amz-acl,
// x-amz-grant-*, AccessControlPolicy bodies), their XML form, and what they
// grant. A grant's permission means, on a bucket: READ lists it, WRITE
// creates and deletes its objects, READ_ACP / WRITE_ACP read / replace its
// ACL; on an object: READ reads it, READ_ACP / WRITE_ACP its ACL. A grant
// never reaches further: a public-read bucket does not make its objects
// readable. The owner's FULL_CONTROL is its own account's business
// (identity and bucket policies, s3_call.h), so grants to the owner's own
// canonical id add nothing; with ObjectOwnership BucketOwnerEnforced no
// ACL grants anything (S3's "ACLs disabled").

#include <optional>
#include <string>
#include <string_view>

#include "appliance/auth/principal.h"
#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

inline constexpr std::string_view kAllUsersUri = "http://acs.amazonaws.com/groups/global/AllUsers";
inline constexpr std::string_view kAuthenticatedUsersUri = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
inline constexpr std::string_view kLogDeliveryUri = "http://acs.amazonaws.com/groups/s3/LogDelivery";

// What a request needs from an ACL grant.
enum class Access {
  kReadObject,  // GetObject, HeadObject, copy source: the object's READ
  kList,        // ListObjects, ListMultipartUploads, HeadBucket: the bucket's READ
  kWrite,       // PutObject, DeleteObject, multipart uploads: the bucket's WRITE
  kReadAcp,     // Get{Bucket,Object}Acl: the bucket's (or the object's) READ_ACP
  kWriteAcp,    // Put{Bucket,Object}Acl: the bucket's (or the object's) WRITE_ACP
  kOwner,       // everything else: no ACL grants it
};

// The stable 64-hex canonical user id S3 shows for an account.
std::string CanonicalUserId(std::string_view account_id);

bool IsOwner(const auth::Principal& p, const BucketRecord& bucket);

// The grants of canned ACL `name` on a resource owned by `owner_id` (here
// the bucket owner owns every object, so bucket-owner-read and
// bucket-owner-full-control come to the owner's FULL_CONTROL); empty for a
// name that is no canned ACL.
AccessControlList CannedAclGrants(std::string_view name, std::string_view owner_id);

// The ACL a new object or bucket gets: the requested one, or private.
AccessControlList AclOrPrivate(std::optional<AccessControlList> requested, std::string_view owner_id);

bool HasAllUsersRead(const AccessControlList& acl);
// A grant to AllUsers or AuthenticatedUsers (what Block Public Access calls public).
bool IsPublicGrant(const Grant& grant);
bool HasPublicGrant(const AccessControlList& acl);

// Whether the bucket's ACLs count at all (not BucketOwnerEnforced).
bool AclsEnabled(const BucketRecord& bucket);

// Whether an ACL grants `caller` `access`: the bucket's ACL for bucket
// access, `object`'s for object access (kReadAcp/kWriteAcp: the object's
// when given). Never with ACLs disabled; public grants never when the
// bucket's IgnorePublicAcls is on; grants to a canonical user only to
// another account's principals.
bool AclGrants(const auth::Principal& caller, const BucketRecord& bucket, Access access,
               const ObjectRecord* object = nullptr);

// Reads x-amz-acl or the x-amz-grant-* headers of a request creating or
// changing a resource owned by `owner_id`. nullopt when there are none.
Result<std::optional<AccessControlList>> ParseAclHeaders(const http::Headers& headers, std::string_view owner_id);

// An AccessControlPolicy body → its grants. MalformedACLError for a body
// or grant that is not an ACL; UnresolvableGrantByEmailAddress for grants
// to email addresses, which this store has no accounts for.
Result<AccessControlList> ParseAccessControlPolicy(std::string_view body);

// Whether a request may store `acl` on the bucket or one of its objects:
// AccessControlListNotSupported when ACLs are disabled and it grants more
// than the owner's FULL_CONTROL; AccessDenied when BlockPublicAcls refuses
// a public grant.
Status CheckAclSettable(const BucketRecord& bucket, const std::optional<AccessControlList>& acl);

// <AccessControlPolicy> for an owner and its ACL (with ACLs disabled: the
// owner's FULL_CONTROL, as S3 answers then).
std::string RenderAccessControlPolicy(std::string_view owner_id, std::string_view owner_name,
                                      const AccessControlList& acl);

// "BucketOwnerEnforced" … and back (nullopt for anything else).
std::string_view ObjectOwnershipName(ObjectOwnership o);
std::optional<ObjectOwnership> ParseObjectOwnership(std::string_view name);

}  // namespace annex::objectstore
