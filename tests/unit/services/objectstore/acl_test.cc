#include "services/objectstore/acl.h"

#include <gtest/gtest.h>

#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {
namespace {

constexpr std::string_view kOwner = "111111111111";
constexpr std::string_view kOther = "222222222222";

auth::Principal Account(std::string_view id, bool root = true) {
  auth::Principal p;
  p.anonymous = false;
  p.account_id = std::string(id);
  if (!root) p.user_name = "u";
  return p;
}

BucketRecord Bucket(std::string_view canned,
                    std::optional<ObjectOwnership> ownership = ObjectOwnership::kObjectWriter) {
  BucketRecord b;
  b.owner_id = std::string(kOwner);
  b.acl = CannedAclGrants(canned, kOwner);
  b.ownership = ownership;
  return b;
}

TEST(AclTest, CannedAclsGrantWhatS3Documents) {
  const std::string owner = CanonicalUserId(kOwner);
  EXPECT_EQ(CannedAclGrants("private", kOwner),
            (AccessControlList{{GranteeType::kCanonicalUser, owner, Permission::kFullControl}}));
  EXPECT_EQ(CannedAclGrants("public-read-write", kOwner),
            (AccessControlList{{GranteeType::kCanonicalUser, owner, Permission::kFullControl},
                               {GranteeType::kGroup, std::string(kAllUsersUri), Permission::kRead},
                               {GranteeType::kGroup, std::string(kAllUsersUri), Permission::kWrite}}));
  EXPECT_EQ(CannedAclGrants("authenticated-read", kOwner)[1].grantee, kAuthenticatedUsersUri);
  AccessControlList log = CannedAclGrants("log-delivery-write", kOwner);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].grantee, kLogDeliveryUri);
  EXPECT_EQ(log[2].permission, Permission::kReadAcp);
  EXPECT_EQ(CannedAclGrants("aws-exec-read", kOwner)[1].type, GranteeType::kCanonicalUser);
  EXPECT_EQ(CannedAclGrants("bucket-owner-full-control", kOwner), CannedAclGrants("private", kOwner));
  EXPECT_TRUE(CannedAclGrants("public", kOwner).empty());
}

TEST(AclTest, ParsesGrantHeaders) {
  http::Headers h;
  std::string other = CanonicalUserId(kOther);
  h.Set("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\", id=\"" + other + "\"");
  h.Set("x-amz-grant-write-acp", "id=" + other);
  auto acl = ParseAclHeaders(h, kOwner);
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  ASSERT_TRUE(acl->has_value());
  ASSERT_EQ((*acl)->size(), 3u);
  EXPECT_EQ((**acl)[0], (Grant{GranteeType::kGroup, std::string(kAllUsersUri), Permission::kRead}));
  EXPECT_EQ((**acl)[1], (Grant{GranteeType::kCanonicalUser, other, Permission::kRead}));
  EXPECT_EQ((**acl)[2], (Grant{GranteeType::kCanonicalUser, other, Permission::kWriteAcp}));

  http::Headers email;
  email.Set("x-amz-grant-read", "emailAddress=\"a@example.com\"");
  EXPECT_EQ(ParseAclHeaders(email, kOwner).status().subcode(), "UnresolvableGrantByEmailAddress");
  http::Headers both;
  both.Set("x-amz-acl", "private");
  both.Set("x-amz-grant-read", "id=" + other);
  EXPECT_EQ(ParseAclHeaders(both, kOwner).status().subcode(), "InvalidRequest");
  http::Headers bad_group;
  bad_group.Set("x-amz-grant-read", "uri=\"http://example.com/group\"");
  EXPECT_EQ(ParseAclHeaders(bad_group, kOwner).status().subcode(), "InvalidArgument");
  http::Headers bad_canned;
  bad_canned.Set("x-amz-acl", "everyone");
  EXPECT_EQ(ParseAclHeaders(bad_canned, kOwner).status().subcode(), "InvalidArgument");
  EXPECT_FALSE(ParseAclHeaders(http::Headers(), kOwner)->has_value());
}

TEST(AclTest, AccessControlPolicyRoundTrips) {
  AccessControlList acl = CannedAclGrants("public-read-write", kOwner);
  acl.push_back({GranteeType::kCanonicalUser, CanonicalUserId(kOther), Permission::kReadAcp});
  std::string xml = RenderAccessControlPolicy(kOwner, "alice", acl);
  EXPECT_NE(xml.find("<DisplayName>alice</DisplayName>"), std::string::npos);
  EXPECT_NE(xml.find("xsi:type=\"Group\""), std::string::npos);
  auto back = ParseAccessControlPolicy(xml);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, acl);
  EXPECT_EQ(ParseAccessControlPolicy("<AccessControlPolicy><AccessControlList><Grant><Grantee "
                                     "xsi:type=\"AmazonCustomerByEmail\" xmlns:xsi=\"http://www.w3.org/2001/"
                                     "XMLSchema-instance\"><EmailAddress>a@example.com</EmailAddress></Grantee>"
                                     "<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>")
                .status()
                .subcode(),
            "UnresolvableGrantByEmailAddress");
  EXPECT_EQ(ParseAccessControlPolicy("<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee>"
                                     "<Permission>EVERYTHING</Permission></Grant></AccessControlList>"
                                     "</AccessControlPolicy>")
                .status()
                .subcode(),
            "MalformedACLError");
}

TEST(AclTest, GrantsFollowPermissionAndGrantee) {
  auth::Principal anonymous;
  BucketRecord prw = Bucket("public-read-write");
  EXPECT_TRUE(AclGrants(anonymous, prw, Access::kWrite));
  EXPECT_TRUE(AclGrants(anonymous, prw, Access::kList));
  EXPECT_FALSE(AclGrants(anonymous, prw, Access::kReadAcp));
  EXPECT_FALSE(AclGrants(anonymous, prw, Access::kOwner));
  EXPECT_FALSE(AclGrants(anonymous, prw, Access::kReadObject));  // a bucket grant reaches no object

  BucketRecord auth_read = Bucket("authenticated-read");
  EXPECT_FALSE(AclGrants(anonymous, auth_read, Access::kList));
  EXPECT_TRUE(AclGrants(Account(kOther), auth_read, Access::kList));
  EXPECT_FALSE(AclGrants(Account(kOther), auth_read, Access::kWrite));

  BucketRecord granted = Bucket("private");
  granted.acl.push_back({GranteeType::kCanonicalUser, CanonicalUserId(kOther), Permission::kFullControl});
  EXPECT_TRUE(AclGrants(Account(kOther), granted, Access::kWriteAcp));
  // The owner's own principals get nothing from an ACL: their policies decide.
  EXPECT_FALSE(AclGrants(Account(kOwner, /*root=*/false), Bucket("private"), Access::kList));

  ObjectRecord object;
  object.acl = CannedAclGrants("public-read", kOwner);
  EXPECT_TRUE(AclGrants(anonymous, granted, Access::kReadObject, &object));
  EXPECT_FALSE(AclGrants(anonymous, granted, Access::kReadAcp, &object));
}

TEST(AclTest, OwnershipAndBlockPublicAccess) {
  auth::Principal anonymous;
  BucketRecord enforced = Bucket("public-read", ObjectOwnership::kBucketOwnerEnforced);
  EXPECT_FALSE(AclsEnabled(enforced));
  EXPECT_FALSE(AclGrants(anonymous, enforced, Access::kList));
  EXPECT_EQ(CheckAclSettable(enforced, CannedAclGrants("public-read", kOwner)).subcode(),
            "AccessControlListNotSupported");
  EXPECT_TRUE(CheckAclSettable(enforced, CannedAclGrants("bucket-owner-full-control", kOwner)).ok());
  EXPECT_TRUE(CheckAclSettable(enforced, std::nullopt).ok());
  // No ownership controls (buckets from before them): ACLs count.
  EXPECT_TRUE(AclGrants(anonymous, Bucket("public-read", std::nullopt), Access::kList));

  BucketRecord ignoring = Bucket("public-read");
  ignoring.public_access_block = PublicAccessBlock{};
  ignoring.public_access_block->ignore_public_acls = true;
  EXPECT_FALSE(AclGrants(anonymous, ignoring, Access::kList));
  ignoring.acl.push_back({GranteeType::kCanonicalUser, CanonicalUserId(kOther), Permission::kRead});
  EXPECT_TRUE(AclGrants(Account(kOther), ignoring, Access::kList));  // not a public grant

  BucketRecord blocking = Bucket("private");
  blocking.public_access_block = PublicAccessBlock{};
  blocking.public_access_block->block_public_acls = true;
  EXPECT_EQ(CheckAclSettable(blocking, CannedAclGrants("public-read-write", kOwner)).subcode(), "AccessDenied");
  EXPECT_TRUE(CheckAclSettable(blocking, CannedAclGrants("aws-exec-read", kOwner)).ok());
}

}  // namespace
}  // namespace annex::objectstore
