#include "services/objectstore/acl.h"

#include <string>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr std::string_view kAllUsers = "http://acs.amazonaws.com/groups/global/AllUsers";
constexpr std::string_view kXsi = "http://www.w3.org/2001/XMLSchema-instance";

Status MalformedAcl() {
  return http::ApiStatus("MalformedACLError",
                         "The XML you provided was not well-formed or did not validate against our published schema");
}

Status GrantNotImplemented(std::string_view what) {
  return http::ApiStatus("NotImplemented", std::string(what) +
                                               " cannot be stored here: only the owner's FULL_CONTROL and the "
                                               "AllUsers READ grant (public-read) are supported.");
}

bool IsPermission(std::string_view p) {
  return p == "FULL_CONTROL" || p == "READ" || p == "WRITE" || p == "READ_ACP" || p == "WRITE_ACP";
}

// What one <Grant> adds to the ACL: nothing (the owner's FULL_CONTROL, which
// the owner always has), public-read, or an error for anything the store
// cannot enforce — refused rather than dropped, so no caller believes a
// grant took effect that did not.
Result<std::optional<CannedAcl>> ParseGrant(const pugi::xml_node& grant, std::string_view owner_canonical_id) {
  pugi::xml_node grantee = grant.child("Grantee");
  std::string_view permission = http::ChildText(grant, "Permission");
  if (!grantee || !IsPermission(permission)) return MalformedAcl();
  if (grantee.child("URI")) {
    if (http::ChildText(grantee, "URI") == kAllUsers && permission == "READ") {
      return std::optional<CannedAcl>(CannedAcl::kPublicRead);
    }
    return GrantNotImplemented("A group grant other than AllUsers READ");
  }
  if (grantee.child("EmailAddress")) return GrantNotImplemented("A grant to an email address");
  if (!grantee.child("ID")) return MalformedAcl();
  if (http::ChildText(grantee, "ID") != owner_canonical_id) return GrantNotImplemented("A grant to another user");
  if (permission != "FULL_CONTROL") return GrantNotImplemented("Limiting the owner to " + std::string(permission));
  return std::optional<CannedAcl>();
}

}  // namespace

std::string CanonicalUserId(std::string_view account_id) {
  std::string seed = "annex-canonical-user:";
  seed.append(account_id);
  return crypto::Sha256Hex(seed);
}

bool IsOwner(const auth::Principal& p, const BucketRecord& bucket) {
  return !p.anonymous && p.account_id == bucket.owner_id;
}

bool PublicAclGrants(const BucketRecord& bucket, Access access, const ObjectRecord* object) {
  if (!PublicAclsHonoured(bucket)) return false;
  switch (access) {
    case Access::kList: return bucket.acl == CannedAcl::kPublicRead;
    case Access::kReadObject: return object && object->acl == CannedAcl::kPublicRead;
    case Access::kOwner: return false;
  }
  return false;
}

Result<std::optional<CannedAcl>> ParseAclHeaders(const http::Headers& headers) {
  for (const auto& f : headers) {
    if (StartsWith(f.name, "x-amz-grant-")) {
      return http::ApiStatus("NotImplemented", "Explicit grants (x-amz-grant-*) are not supported; use x-amz-acl.");
    }
  }
  const std::string* acl = headers.Get("x-amz-acl");
  if (!acl) return std::optional<CannedAcl>();
  if (*acl == "private" || *acl == "bucket-owner-full-control" || *acl == "bucket-owner-read") {
    // The bucket owner is always the object owner here, so these equal private.
    return std::optional<CannedAcl>(CannedAcl::kPrivate);
  }
  if (*acl == "public-read") return std::optional<CannedAcl>(CannedAcl::kPublicRead);
  if (*acl == "public-read-write" || *acl == "authenticated-read" || *acl == "aws-exec-read" ||
      *acl == "log-delivery-write") {
    return http::ApiStatus("NotImplemented", "The canned ACL " + *acl + " is not supported.");
  }
  return http::ApiStatus("InvalidArgument", "Invalid canned ACL: " + *acl);
}

Result<CannedAcl> ParseAccessControlPolicy(std::string_view body, std::string_view owner_canonical_id) {
  auto parsed = ParseS3Document(body, "AccessControlPolicy");
  if (!parsed.ok()) return MalformedAcl();
  pugi::xml_document doc = std::move(parsed).value();
  CannedAcl acl = CannedAcl::kPrivate;
  for (pugi::xml_node grant : doc.document_element().child("AccessControlList").children("Grant")) {
    ANNEX_ASSIGN_OR_RETURN(std::optional<CannedAcl> granted, ParseGrant(grant, owner_canonical_id));
    if (granted) acl = *granted;
  }
  return acl;
}

std::string RenderAccessControlPolicy(std::string_view owner_id, std::string_view owner_name, CannedAcl acl) {
  http::XmlDocument doc("AccessControlPolicy", http::kS3XmlNamespace);
  std::string canonical = CanonicalUserId(owner_id);
  doc.root().Child("Owner").Add("ID", canonical).Add("DisplayName", owner_name);
  http::XmlNode list = doc.root().Child("AccessControlList");
  http::XmlNode owner_grant = list.Child("Grant");
  owner_grant.Child("Grantee")
      .Attribute("xmlns:xsi", kXsi)
      .Attribute("xsi:type", "CanonicalUser")
      .Add("ID", canonical)
      .Add("DisplayName", owner_name);
  owner_grant.Add("Permission", "FULL_CONTROL");
  if (acl == CannedAcl::kPublicRead) {
    http::XmlNode grant = list.Child("Grant");
    grant.Child("Grantee").Attribute("xmlns:xsi", kXsi).Attribute("xsi:type", "Group").Add("URI", kAllUsers);
    grant.Add("Permission", "READ");
  }
  return doc.Render();
}

}  // namespace annex::objectstore
