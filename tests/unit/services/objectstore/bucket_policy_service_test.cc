// Bucket policies and Block Public Access driven through the service, with
// the platform's policy authorizer: S3's documents and errors, and who may
// do what as S3 decides it (owner's root and users, other accounts,
// anonymous callers, ACLs beside the policy).

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore::testing {
namespace {

constexpr char kOwner[] = "111111111111";
constexpr char kOther[] = "222222222222";

// {"Version": …, "Statement": [STATEMENTS]}
std::string Doc(const std::string& statements) {
  return R"({"Version":"2012-10-17","Statement":[)" + statements + "]}";
}

std::string Statement(const std::string& effect, const std::string& principal, const std::string& action,
                      const std::string& resource = "arn:aws:s3:::docs/*") {
  return R"({"Effect":")" + effect + R"(","Principal":)" + principal + R"(,"Action":")" + action + R"(","Resource":")" +
         resource + R"("})";
}

const std::string kPublicRead = Doc(Statement("Allow", "\"*\"", "s3:GetObject"));

class BucketPolicyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ACLs enabled, as these tests set public ones.
    ASSERT_EQ(s3_.Send("PUT", "/docs", "", {{"x-amz-object-ownership", "ObjectWriter"}}).status, 200);
    ASSERT_EQ(s3_.Send("PUT", "/docs/a.txt", "alpha").status, 200);
  }

  void AsOwner() { s3_.ActAs(kOwner, "alice"); }

  int PutPolicy(const std::string& document) {
    AsOwner();
    return s3_.Send("PUT", "/docs?policy", document).status;
  }

  // An inline identity policy of user `name` in `account`.
  void UserPolicy(const std::string& account, const std::string& name, const std::string& statements) {
    s3_.authorizer().SetUserPolicy(account, name, Doc(statements));
  }

  int Get(const std::string& target) { return s3_.Send("GET", target).status; }

  TempDir dir_;
  S3Harness s3_{dir_.path()};
};

TEST_F(BucketPolicyServiceTest, PutGetDeleteRoundTrip) {
  auto r = s3_.Send("GET", "/docs?policy");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "NoSuchBucketPolicy");
  EXPECT_EQ(r.operation, "GetBucketPolicy");
  EXPECT_EQ(s3_.Send("GET", "/docs?policyStatus").ErrorCode(), "NoSuchBucketPolicy");

  std::string pretty = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [" +
                       Statement("Allow", R"({"AWS":"222222222222"})", "s3:GetObject") + "]\n}";
  r = s3_.Send("PUT", "/docs?policy", pretty);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.operation, "PutBucketPolicy");
  r = s3_.Send("GET", "/docs?policy");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, pretty);  // as stored, byte for byte
  r = s3_.Send("GET", "/docs?policyStatus");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<PolicyStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><IsPublic>false</IsPublic>"),
            std::string::npos)
      << r.body;

  s3_.Reopen();  // stored with the bucket
  EXPECT_EQ(s3_.Send("GET", "/docs?policy").body, pretty);
  EXPECT_EQ(s3_.Send("PUT", "/docs?policy", kPublicRead).status, 204);
  EXPECT_NE(s3_.Send("GET", "/docs?policyStatus").body.find("<IsPublic>true</IsPublic>"), std::string::npos);

  r = s3_.Send("DELETE", "/docs?policy");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.operation, "DeleteBucketPolicy");
  EXPECT_EQ(s3_.Send("GET", "/docs?policy").ErrorCode(), "NoSuchBucketPolicy");
  EXPECT_EQ(s3_.Send("DELETE", "/docs?policy").status, 204);
  EXPECT_EQ(s3_.Send("PUT", "/nobucket?policy", kPublicRead).ErrorCode(), "NoSuchBucket");
  EXPECT_EQ(s3_.Send("PUT", "/docs/a.txt?policy", kPublicRead).ErrorCode(), "NotImplemented");
}

TEST_F(BucketPolicyServiceTest, MalformedPoliciesStoreNothing) {
  ASSERT_EQ(PutPolicy(kPublicRead), 204);
  for (const std::string& bad :
       {std::string("not json"), Doc(Statement("Allow", "\"*\"", "s3:GetObject", "arn:aws:s3:::elsewhere/*")),
        Doc(R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/*"})")}) {
    auto r = s3_.Send("PUT", "/docs?policy", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.ErrorCode(), "MalformedPolicy") << bad;
  }
  EXPECT_EQ(s3_.Send("GET", "/docs?policy").body, kPublicRead);
}

TEST_F(BucketPolicyServiceTest, AnonymousReadsThroughAPolicyForEveryone) {
  s3_.ActAnonymous();
  EXPECT_EQ(Get("/docs/a.txt"), 403);
  ASSERT_EQ(PutPolicy(kPublicRead), 204);
  s3_.ActAnonymous();
  auto r = s3_.Send("GET", "/docs/a.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "alpha");
  EXPECT_EQ(s3_.Send("PUT", "/docs/b.txt", "graffiti").ErrorCode(), "AccessDenied");
  EXPECT_EQ(Get("/docs?list-type=2"), 403);  // the policy grants objects, not listing
  EXPECT_EQ(s3_.Send("GET", "/docs?policy").ErrorCode(), "AccessDenied");

  AsOwner();
  ASSERT_EQ(s3_.Send("DELETE", "/docs?policy").status, 204);
  s3_.ActAnonymous();
  EXPECT_EQ(Get("/docs/a.txt"), 403);
}

TEST_F(BucketPolicyServiceTest, AnotherAccountsUserNeedsBothItsOwnAllowAndTheBuckets) {
  const std::string bob = "arn:aws:iam::222222222222:user/bob";
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":")" + bob + R"("})", "s3:GetObject"))), 204);
  s3_.ActAsUser(kOther, "bob");
  EXPECT_EQ(Get("/docs/a.txt"), 403);  // the bucket allows, bob's account does not
  UserPolicy(kOther, "bob", R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"*"})");
  EXPECT_EQ(Get("/docs/a.txt"), 200);
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":"333333333333"})", "s3:GetObject"))), 204);
  s3_.ActAsUser(kOther, "bob");
  EXPECT_EQ(Get("/docs/a.txt"), 403);  // bob's account allows, the bucket does not

  // A grant to the account reaches its root (no identity policy binds a
  // root) and those of its users its identity policies allow.
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":"222222222222"})", "s3:GetObject"))), 204);
  s3_.ActAs(kOther, "bob-account");
  EXPECT_EQ(Get("/docs/a.txt"), 200);
  EXPECT_EQ(s3_.Send("DELETE", "/docs/a.txt").ErrorCode(), "AccessDenied");
  s3_.ActAsUser(kOther, "bob");
  EXPECT_EQ(Get("/docs/a.txt"), 200);
  s3_.ActAsUser(kOther, "carol");
  EXPECT_EQ(Get("/docs/a.txt"), 403);
}

TEST_F(BucketPolicyServiceTest, WithinTheAccountEitherPolicySufficesAndADenyWins) {
  const std::string dave = R"({"AWS":"arn:aws:iam::111111111111:user/dave"})";
  s3_.ActAsUser(kOwner, "dave");
  EXPECT_EQ(Get("/docs/a.txt"), 403);
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", dave, "s3:GetObject"))), 204);
  s3_.ActAsUser(kOwner, "dave");
  EXPECT_EQ(Get("/docs/a.txt"), 200);  // the bucket policy alone, no identity policy

  // Naming the account delegates to its identity policies.
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":"111111111111"})", "s3:GetObject"))), 204);
  s3_.ActAsUser(kOwner, "dave");
  EXPECT_EQ(Get("/docs/a.txt"), 403);

  UserPolicy(kOwner, "erin", R"({"Effect":"Allow","Action":"s3:*","Resource":"*"})");
  s3_.ActAsUser(kOwner, "erin");
  EXPECT_EQ(Get("/docs/a.txt"), 200);
  ASSERT_EQ(PutPolicy(Doc(Statement("Deny", R"({"AWS":"arn:aws:iam::111111111111:user/erin"})", "s3:GetObject"))), 204);
  s3_.ActAsUser(kOwner, "erin");
  EXPECT_EQ(s3_.Send("GET", "/docs/a.txt").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("PUT", "/docs/b.txt", "b").status, 200);
}

TEST_F(BucketPolicyServiceTest, TheOwnersRootIsBoundByDeniesButNeverLockedOut) {
  ASSERT_EQ(PutPolicy(Doc(Statement("Deny", "\"*\"", "s3:*", "arn:aws:s3:::docs/*") + "," +
                          Statement("Deny", "\"*\"", "s3:*", "arn:aws:s3:::docs"))),
            204);
  EXPECT_EQ(s3_.Send("GET", "/docs/a.txt").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("GET", "/docs?list-type=2").ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("GET", "/docs?policyStatus").ErrorCode(), "AccessDenied");
  EXPECT_EQ(Get("/docs?policy"), 200);
  EXPECT_EQ(s3_.Send("PUT", "/docs?policy", kPublicRead).status, 204);
  EXPECT_EQ(Get("/docs/a.txt"), 200);
  EXPECT_EQ(s3_.Send("DELETE", "/docs?policy").status, 204);
}

TEST_F(BucketPolicyServiceTest, OnlyTheOwnersAccountManagesThePolicy) {
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":"222222222222"})", "s3:*", "arn:aws:s3:::docs"))), 204);
  s3_.ActAs(kOther, "bob-account");
  EXPECT_EQ(s3_.Send("GET", "/docs?policy").ErrorCode(), "MethodNotAllowed");
  EXPECT_EQ(s3_.Send("DELETE", "/docs?policy").ErrorCode(), "MethodNotAllowed");
  EXPECT_EQ(Get("/docs?list-type=2"), 200);
}

TEST_F(BucketPolicyServiceTest, PublicAccessBlockDocuments) {
  auto r = s3_.Send("GET", "/docs?publicAccessBlock");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "NoSuchPublicAccessBlockConfiguration");
  std::string block =
      "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<IgnorePublicAcls>true</IgnorePublicAcls></PublicAccessBlockConfiguration>";
  r = s3_.Send("PUT", "/docs?publicAccessBlock", block);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.operation, "PutPublicAccessBlock");
  r = s3_.Send("GET", "/docs?publicAccessBlock");
  EXPECT_NE(r.body.find("<BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>"
                        "<BlockPublicPolicy>false</BlockPublicPolicy><RestrictPublicBuckets>false"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(s3_.Send("PUT", "/docs?publicAccessBlock", "<Nope/>").ErrorCode(), "MalformedXML");
  EXPECT_EQ(s3_.Send("DELETE", "/docs?publicAccessBlock").status, 204);
  EXPECT_EQ(s3_.Send("GET", "/docs?publicAccessBlock").ErrorCode(), "NoSuchPublicAccessBlockConfiguration");
}

TEST_F(BucketPolicyServiceTest, BlockPublicPolicyAndAcls) {
  ASSERT_EQ(s3_.Send("PUT", "/docs?publicAccessBlock",
                     "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
                     "<BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>")
                .status,
            200);
  EXPECT_EQ(s3_.Send("PUT", "/docs?policy", kPublicRead).ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("GET", "/docs?policy").ErrorCode(), "NoSuchBucketPolicy");
  EXPECT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":"222222222222"})", "s3:GetObject"))), 204);

  EXPECT_EQ(s3_.Send("PUT", "/docs?acl", "", {{"x-amz-acl", "public-read"}}).ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("PUT", "/docs/a.txt?acl", "", {{"x-amz-acl", "public-read"}}).ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("PUT", "/docs/p.txt", "p", {{"x-amz-acl", "public-read"}}).ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("POST", "/docs/m?uploads", "", {{"x-amz-acl", "public-read"}}).ErrorCode(), "AccessDenied");
  EXPECT_EQ(s3_.Send("PUT", "/docs/p.txt", "p", {{"x-amz-acl", "private"}}).status, 200);
  EXPECT_EQ(s3_.Send("GET", "/docs/p.txt").body, "p");
}

TEST_F(BucketPolicyServiceTest, IgnorePublicAclsAndRestrictPublicBuckets) {
  ASSERT_EQ(s3_.Send("PUT", "/docs/pub.txt", "pub", {{"x-amz-acl", "public-read"}}).status, 200);
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", "\"*\"", "s3:GetObject", "arn:aws:s3:::docs/a.txt"))), 204);
  s3_.ActAnonymous();
  EXPECT_EQ(Get("/docs/pub.txt"), 200);
  EXPECT_EQ(Get("/docs/a.txt"), 200);

  AsOwner();
  ASSERT_EQ(s3_.Send("PUT", "/docs?publicAccessBlock",
                     "<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls>"
                     "<RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>")
                .status,
            200);
  s3_.ActAnonymous();
  EXPECT_EQ(Get("/docs/pub.txt"), 403);
  EXPECT_EQ(Get("/docs/a.txt"), 403);
  s3_.ActAs(kOther, "bob-account");
  EXPECT_EQ(Get("/docs/a.txt"), 403);
  s3_.ActAsUser(kOwner, "dave");  // within the owner's account the public policy still grants
  EXPECT_EQ(Get("/docs/a.txt"), 200);

  // A policy that is not public is not restricted, even across accounts.
  ASSERT_EQ(PutPolicy(Doc(Statement("Allow", R"({"AWS":"222222222222"})", "s3:GetObject"))), 204);
  s3_.ActAs(kOther, "bob-account");
  EXPECT_EQ(Get("/docs/a.txt"), 200);
}

}  // namespace
}  // namespace annex::objectstore::testing
