#include "services/objectstore/acl.h"

#include <array>
#include <string>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr std::string_view kXsi = "http://www.w3.org/2001/XMLSchema-instance";
// The canonical user aws-exec-read grants READ to (EC2, "za-team").
constexpr std::string_view kAwsExecReadId = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c";

struct PermissionName {
  Permission permission;
  std::string_view name;    // in XML
  std::string_view header;  // x-amz-grant-<header>
};
constexpr std::array<PermissionName, 5> kPermissions = {{
    {Permission::kFullControl, "FULL_CONTROL", "full-control"},
    {Permission::kRead, "READ", "read"},
    {Permission::kWrite, "WRITE", "write"},
    {Permission::kReadAcp, "READ_ACP", "read-acp"},
    {Permission::kWriteAcp, "WRITE_ACP", "write-acp"},
}};

Status MalformedAcl() {
  return http::ApiStatus("MalformedACLError",
                         "The XML you provided was not well-formed or did not validate against our published schema");
}

Status UnresolvableEmail() {
  return http::ApiStatus("UnresolvableGrantByEmailAddress",
                         "The e-mail address you provided does not match any account on record.");
}

bool IsGroup(std::string_view uri) {
  return uri == kAllUsersUri || uri == kAuthenticatedUsersUri || uri == kLogDeliveryUri;
}

bool IsCanonicalId(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Grant OwnerFullControl(std::string_view owner_id) {
  return Grant{GranteeType::kCanonicalUser, CanonicalUserId(owner_id), Permission::kFullControl};
}

// One grantee of an x-amz-grant-* header: id="…", uri="…" or emailAddress="…".
Result<Grant> ParseHeaderGrantee(std::string_view item, Permission permission) {
  size_t eq = item.find('=');
  if (eq == std::string_view::npos) return http::ApiStatus("InvalidArgument", "Invalid grant header value");
  std::string type = ToLower(Trim(item.substr(0, eq)));
  std::string_view value = Trim(item.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  if (type == "emailaddress") return UnresolvableEmail();
  if (type == "id") {
    if (!IsCanonicalId(value)) return http::ApiStatus("InvalidArgument", "Invalid id");
    return Grant{GranteeType::kCanonicalUser, std::string(value), permission};
  }
  if (type == "uri") {
    if (!IsGroup(value)) return http::ApiStatus("InvalidArgument", "Invalid group uri");
    return Grant{GranteeType::kGroup, std::string(value), permission};
  }
  return http::ApiStatus("InvalidArgument", "Invalid grant header value");
}

// One <Grant> of an AccessControlPolicy.
Result<Grant> ParseGrant(const pugi::xml_node& grant) {
  pugi::xml_node grantee = grant.child("Grantee");
  std::string_view permission_name = http::ChildText(grant, "Permission");
  const PermissionName* permission = nullptr;
  for (const auto& p : kPermissions) {
    if (p.name == permission_name) permission = &p;
  }
  if (!grantee || !permission) return MalformedAcl();
  if (grantee.child("EmailAddress")) return UnresolvableEmail();
  if (grantee.child("URI")) {
    std::string_view uri = http::ChildText(grantee, "URI");
    if (!IsGroup(uri)) return http::ApiStatus("InvalidArgument", "Invalid group uri");
    return Grant{GranteeType::kGroup, std::string(uri), permission->permission};
  }
  if (!grantee.child("ID")) return MalformedAcl();
  std::string_view id = http::ChildText(grantee, "ID");
  if (!IsCanonicalId(id)) return http::ApiStatus("InvalidArgument", "Invalid id");
  return Grant{GranteeType::kCanonicalUser, std::string(id), permission->permission};
}

bool GrantsOnlyOwner(const AccessControlList& acl, std::string_view owner_canonical_id) {
  for (const Grant& g : acl) {
    if (g.type != GranteeType::kCanonicalUser || g.grantee != owner_canonical_id) return false;
  }
  return true;
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

AccessControlList CannedAclGrants(std::string_view name, std::string_view owner_id) {
  AccessControlList acl;
  auto group = [&](std::string_view uri, Permission p) {
    acl.push_back(Grant{GranteeType::kGroup, std::string(uri), p});
  };
  if (name == "private" || name == "bucket-owner-read" || name == "bucket-owner-full-control") {
    acl.push_back(OwnerFullControl(owner_id));
  } else if (name == "public-read") {
    acl.push_back(OwnerFullControl(owner_id));
    group(kAllUsersUri, Permission::kRead);
  } else if (name == "public-read-write") {
    acl.push_back(OwnerFullControl(owner_id));
    group(kAllUsersUri, Permission::kRead);
    group(kAllUsersUri, Permission::kWrite);
  } else if (name == "authenticated-read") {
    acl.push_back(OwnerFullControl(owner_id));
    group(kAuthenticatedUsersUri, Permission::kRead);
  } else if (name == "log-delivery-write") {
    acl.push_back(OwnerFullControl(owner_id));
    group(kLogDeliveryUri, Permission::kWrite);
    group(kLogDeliveryUri, Permission::kReadAcp);
  } else if (name == "aws-exec-read") {
    acl.push_back(OwnerFullControl(owner_id));
    acl.push_back(Grant{GranteeType::kCanonicalUser, std::string(kAwsExecReadId), Permission::kRead});
  }
  return acl;
}

AccessControlList AclOrPrivate(std::optional<AccessControlList> requested, std::string_view owner_id) {
  return requested ? std::move(*requested) : CannedAclGrants("private", owner_id);
}

bool HasAllUsersRead(const AccessControlList& acl) {
  for (const Grant& g : acl) {
    if (g.type == GranteeType::kGroup && g.grantee == kAllUsersUri &&
        (g.permission == Permission::kRead || g.permission == Permission::kFullControl)) {
      return true;
    }
  }
  return false;
}

bool IsPublicGrant(const Grant& g) {
  return g.type == GranteeType::kGroup && (g.grantee == kAllUsersUri || g.grantee == kAuthenticatedUsersUri);
}

bool HasPublicGrant(const AccessControlList& acl) {
  for (const Grant& g : acl) {
    if (IsPublicGrant(g)) return true;
  }
  return false;
}

bool AclsEnabled(const BucketRecord& bucket) { return bucket.ownership != ObjectOwnership::kBucketOwnerEnforced; }

bool AclGrants(const auth::Principal& caller, const BucketRecord& bucket, Access access, const ObjectRecord* object) {
  if (!AclsEnabled(bucket)) return false;
  const AccessControlList* acl = &bucket.acl;
  Permission needed = Permission::kRead;
  switch (access) {
    case Access::kReadObject:
      if (!object) return false;
      acl = &object->acl;
      break;
    case Access::kList:
      break;
    case Access::kWrite:
      needed = Permission::kWrite;
      break;
    case Access::kReadAcp:
      needed = Permission::kReadAcp;
      break;
    case Access::kWriteAcp:
      needed = Permission::kWriteAcp;
      break;
    case Access::kOwner:
      return false;
  }
  if (object && (access == Access::kReadAcp || access == Access::kWriteAcp)) acl = &object->acl;
  const bool public_honoured = PublicAclsHonoured(bucket);
  // The owner's own principals get what they may do from their policies.
  const bool other_account = !caller.anonymous && caller.account_id != bucket.owner_id;
  std::string caller_id;
  for (const Grant& g : *acl) {
    if (g.permission != needed && g.permission != Permission::kFullControl) continue;
    if (g.type == GranteeType::kGroup) {
      if (!public_honoured) continue;
      if (g.grantee == kAllUsersUri) return true;
      if (g.grantee == kAuthenticatedUsersUri && !caller.anonymous) return true;
      continue;
    }
    if (!other_account) continue;
    if (caller_id.empty()) caller_id = CanonicalUserId(caller.account_id);
    if (g.grantee == caller_id) return true;
  }
  return false;
}

Result<std::optional<AccessControlList>> ParseAclHeaders(const http::Headers& headers, std::string_view owner_id) {
  AccessControlList grants;
  bool any_grant_header = false;
  for (const PermissionName& p : kPermissions) {
    const std::string* value = headers.Get("x-amz-grant-" + std::string(p.header));
    if (!value) continue;
    any_grant_header = true;
    for (std::string_view item : Split(*value, ',')) {
      if (Trim(item).empty()) continue;
      ANNEX_ASSIGN_OR_RETURN(Grant g, ParseHeaderGrantee(item, p.permission));
      grants.push_back(std::move(g));
    }
  }
  const std::string* canned = headers.Get("x-amz-acl");
  if (canned && any_grant_header) {
    return http::ApiStatus("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed");
  }
  if (any_grant_header) return std::optional<AccessControlList>(std::move(grants));
  if (!canned) return std::optional<AccessControlList>();
  AccessControlList acl = CannedAclGrants(*canned, owner_id);
  if (acl.empty()) return http::ApiStatus("InvalidArgument", "Invalid canned ACL: " + *canned);
  return std::optional<AccessControlList>(std::move(acl));
}

Result<AccessControlList> ParseAccessControlPolicy(std::string_view body) {
  auto parsed = ParseS3Document(body, "AccessControlPolicy");
  if (!parsed.ok()) return MalformedAcl();
  pugi::xml_document doc = std::move(parsed).value();
  pugi::xml_node list = doc.document_element().child("AccessControlList");
  if (!list) return MalformedAcl();
  AccessControlList acl;
  for (pugi::xml_node grant : list.children("Grant")) {
    ANNEX_ASSIGN_OR_RETURN(Grant g, ParseGrant(grant));
    acl.push_back(std::move(g));
  }
  return acl;
}

Status CheckAclSettable(const BucketRecord& bucket, const std::optional<AccessControlList>& acl) {
  if (!acl) return Status::OK();
  if (!AclsEnabled(bucket) && !GrantsOnlyOwner(*acl, CanonicalUserId(bucket.owner_id))) {
    return http::ApiStatus("AccessControlListNotSupported", "The bucket does not allow ACLs");
  }
  return CheckAclNotBlocked(bucket, *acl);
}

std::string RenderAccessControlPolicy(std::string_view owner_id, std::string_view owner_name,
                                      const AccessControlList& acl) {
  http::XmlDocument doc("AccessControlPolicy", http::kS3XmlNamespace);
  std::string canonical = CanonicalUserId(owner_id);
  doc.root().Child("Owner").Add("ID", canonical).Add("DisplayName", owner_name);
  http::XmlNode list = doc.root().Child("AccessControlList");
  for (const Grant& g : acl) {
    http::XmlNode grant = list.Child("Grant");
    http::XmlNode grantee = grant.Child("Grantee").Attribute("xmlns:xsi", kXsi);
    if (g.type == GranteeType::kGroup) {
      grantee.Attribute("xsi:type", "Group").Add("URI", g.grantee);
    } else {
      grantee.Attribute("xsi:type", "CanonicalUser").Add("ID", g.grantee);
      if (g.grantee == canonical) grantee.Add("DisplayName", owner_name);
    }
    for (const auto& p : kPermissions) {
      if (p.permission == g.permission) grant.Add("Permission", p.name);
    }
  }
  return doc.Render();
}

std::string_view ObjectOwnershipName(ObjectOwnership o) {
  switch (o) {
    case ObjectOwnership::kBucketOwnerEnforced:
      return "BucketOwnerEnforced";
    case ObjectOwnership::kBucketOwnerPreferred:
      return "BucketOwnerPreferred";
    case ObjectOwnership::kObjectWriter:
      return "ObjectWriter";
  }
  return "ObjectWriter";
}

std::optional<ObjectOwnership> ParseObjectOwnership(std::string_view name) {
  for (ObjectOwnership o : {ObjectOwnership::kBucketOwnerEnforced, ObjectOwnership::kBucketOwnerPreferred,
                            ObjectOwnership::kObjectWriter}) {
    if (ObjectOwnershipName(o) == name) return o;
  }
  return std::nullopt;
}

}  // namespace annex::objectstore
