// Bucket policies as PutBucketPolicy takes them (S3's checks over the policy
// language) and S3's definition of a public policy.

#include "services/objectstore/bucket_policy.h"

#include <gtest/gtest.h>

#include <string>

#include "services/objectstore/public_access_block.h"
#include "services/objectstore/acl.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {
namespace {

// A one-statement policy on bucket "photos".
std::string Policy(const std::string& principal, const std::string& action = "\"s3:GetObject\"",
                   const std::string& condition = "", const std::string& resource = "\"arn:aws:s3:::photos/*\"",
                   const std::string& effect = "Allow") {
  std::string s = R"({"Version":"2012-10-17","Statement":[{"Effect":")" + effect + R"(","Principal":)" + principal +
                  R"(,"Action":)" + action + R"(,"Resource":)" + resource;
  if (!condition.empty()) s += R"(,"Condition":)" + condition;
  return s + "}]}";
}

std::string ErrorOf(const std::string& document) {
  auto r = ParseBucketPolicy(document, "photos");
  if (r.ok()) return "ok";
  return r.status().subcode() + ": " + r.status().message();
}

bool Public(const std::string& document) {
  auto r = ParseBucketPolicy(document, "photos");
  EXPECT_TRUE(r.ok()) << document << " " << r.status().ToString();
  return r.ok() && IsPublicPolicy(*r);
}

TEST(BucketPolicyTest, AcceptsPoliciesOnTheBucketAndItsObjects) {
  EXPECT_EQ(ErrorOf(Policy("\"*\"")), "ok");
  EXPECT_EQ(ErrorOf(Policy(R"({"AWS":"222222222222"})", R"(["s3:ListBucket"])", "", "\"arn:aws:s3:::photos\"")), "ok");
  EXPECT_EQ(ErrorOf(Policy(R"({"AWS":"arn:aws:iam::222222222222:user/bob"})", "\"s3:*\"", "",
                           R"(["arn:aws:s3:::photos","arn:aws:s3:::photos/home/${aws:username}/*"])")),
            "ok");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"*\"", "", "\"arn:aws:s3:::photos*\"")), "ok");
}

TEST(BucketPolicyTest, RefusesWhatS3Refuses) {
  EXPECT_EQ(ErrorOf("not json"), "MalformedPolicy: Policies must be valid JSON and the first byte must be '{'");
  EXPECT_EQ(ErrorOf("{not json"), "MalformedPolicy: This policy contains invalid Json");
  EXPECT_EQ(ErrorOf(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",)"
                    R"("Resource":"arn:aws:s3:::photos/*"}]})"),
            "MalformedPolicy: Missing required field Principal");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"s3:GetObject\"", "", "\"arn:aws:s3:::photos/*\"", "Maybe")),
            "MalformedPolicy: Invalid effect: Maybe");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"s3:GetObject\"", "", "\"arn:aws:s3:::other/*\"")),
            "MalformedPolicy: Policy has invalid resource");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"s3:GetObject\"", "", "\"arn:aws:s3:::photosphere/*\"")),
            "MalformedPolicy: Policy has invalid resource");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"s3:GetObject\"", "", "\"*\"")), "MalformedPolicy: Policy has invalid resource");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"s3:GetObject\"", "", "\"arn:aws:s3:::*\"")),
            "MalformedPolicy: Policy has invalid resource");
  EXPECT_EQ(ErrorOf(Policy("\"*\"", "\"iam:CreateUser\"")), "MalformedPolicy: Policy has invalid action");
}

TEST(BucketPolicyTest, SizeLimitIgnoresWhitespace) {
  std::string statement = R"({"Effect":"Allow","Principal":"*","Action":"s3:GetObject",)"
                          R"("Resource":"arn:aws:s3:::photos/)";
  auto with = [&](size_t n, const std::string& pad) {
    std::string doc = R"({"Version":"2012-10-17","Statement":[)";
    for (size_t i = 0; i < n; ++i) doc += (i ? "," : "") + pad + statement + std::to_string(i) + "\"}";
    return doc + "]}";
  };
  EXPECT_EQ(ErrorOf(with(150, std::string(200, ' '))), "ok");  // ~14 KB of text, 44 KB with the padding
  EXPECT_EQ(ErrorOf(with(400, "")).substr(0, 15), "PolicyTooLarge:");
}

TEST(BucketPolicyTest, AnyonePrincipalIsPublicForDataActions) {
  EXPECT_TRUE(Public(Policy("\"*\"")));
  EXPECT_TRUE(Public(Policy(R"({"AWS":"*"})")));
  EXPECT_TRUE(Public(Policy(R"({"AWS":"arn:aws:iam::*:root"})")));
  EXPECT_TRUE(Public(Policy(R"({"Federated":"graph.facebook.com"})")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:*\"")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:List*\"", "", "\"arn:aws:s3:::photos\"")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:Put*\"")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:AbortMultipartUpload\"")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:*Object\"")));
  EXPECT_TRUE(Public(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":)"
                     R"({"AWS":"arn:aws:iam::111111111111:root"},"Action":"s3:GetObject",)"
                     R"("Resource":"arn:aws:s3:::photos/*"}]})"));
}

TEST(BucketPolicyTest, FixedPrincipalsDeniesAndHarmlessActionsAreNotPublic) {
  EXPECT_FALSE(Public(Policy(R"({"AWS":"222222222222"})")));
  EXPECT_FALSE(Public(Policy(R"({"AWS":["arn:aws:iam::222222222222:user/bob","333333333333"]})")));
  EXPECT_FALSE(Public(Policy(R"({"Service":"logging.s3.amazonaws.com"})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", "", "\"arn:aws:s3:::photos/*\"", "Deny")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:BypassGovernanceRetention\"")));
}

TEST(BucketPolicyTest, ConditionsThatPinTheRequestMakeItNonPublic) {
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":"198.51.100.7"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":"2001:db8::/48"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringEquals":{"aws:SourceVpc":"vpc-1a2b3c4d"}})")));
  EXPECT_FALSE(
      Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringEquals":{"aws:PrincipalAccount":"222222222222"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"",
                             R"({"ArnLike":{"aws:SourceArn":"arn:aws:cloudfront::111111111111:distribution/E1"}})")));
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringEquals":{"aws:SourceAccount":"111111111111"}})")));
  // One pinning clause among others is enough: the clauses all hold together.
  EXPECT_FALSE(Public(Policy("\"*\"", "\"s3:GetObject\"",
                             R"({"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:SourceVpce":"vpce-1"}})")));
}

TEST(BucketPolicyTest, ConditionsThatLeaveItOpenStayPublic) {
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/1"}})")));
  EXPECT_TRUE(
      Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","0.0.0.0/0"]}})")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"IpAddress":{"aws:SourceIp":"2001:db8::/16"}})")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringLike":{"aws:SourceVpc":"vpc-*"}})")));
  EXPECT_TRUE(Public(
      Policy("\"*\"", "\"s3:GetObject\"", R"({"StringEqualsIfExists":{"aws:PrincipalAccount":"222222222222"}})")));
  EXPECT_TRUE(
      Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringNotEquals":{"aws:PrincipalAccount":"222222222222"}})")));
  EXPECT_TRUE(
      Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringEquals":{"aws:PrincipalAccount":"${aws:username}"}})")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"Bool":{"aws:SecureTransport":"true"}})")));
  EXPECT_TRUE(Public(Policy("\"*\"", "\"s3:GetObject\"", R"({"StringLike":{"s3:prefix":"home/"}})")));
}

TEST(PublicAccessBlockTest, DocumentRoundTrip) {
  auto parsed = ParsePublicAccessBlock(
      "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<BlockPublicAcls>true</BlockPublicAcls><RestrictPublicBuckets>true</RestrictPublicBuckets>"
      "</PublicAccessBlockConfiguration>");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->block_public_acls);
  EXPECT_FALSE(parsed->ignore_public_acls);
  EXPECT_FALSE(parsed->block_public_policy);
  EXPECT_TRUE(parsed->restrict_public_buckets);
  std::string xml = RenderPublicAccessBlock(*parsed);
  EXPECT_NE(xml.find("<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls>"),
            std::string::npos);
  EXPECT_EQ(ParsePublicAccessBlock(xml).value(), *parsed);
  EXPECT_EQ(ParsePublicAccessBlock("<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>"
                                   "</PublicAccessBlockConfiguration>")
                .status()
                .subcode(),
            "MalformedXML");
  EXPECT_EQ(ParsePublicAccessBlock("<PublicAccessBlockConfiguration><Other>true</Other>"
                                   "</PublicAccessBlockConfiguration>")
                .status()
                .subcode(),
            "MalformedXML");
}

TEST(PublicAccessBlockTest, BlockPublicAclsRefusesOnlyPublicAcls) {
  BucketRecord bucket;
  EXPECT_TRUE(CheckAclNotBlocked(bucket, CannedAclGrants("public-read", "1")).ok());
  bucket.public_access_block = PublicAccessBlock{};
  bucket.public_access_block->block_public_acls = true;
  EXPECT_EQ(CheckAclNotBlocked(bucket, CannedAclGrants("public-read", "1")).subcode(), "AccessDenied");
  EXPECT_EQ(CheckAclNotBlocked(bucket, CannedAclGrants("authenticated-read", "1")).subcode(), "AccessDenied");
  EXPECT_TRUE(CheckAclNotBlocked(bucket, CannedAclGrants("private", "1")).ok());
  EXPECT_TRUE(CheckAclNotBlocked(bucket, CannedAclGrants("log-delivery-write", "1")).ok());
}

}  // namespace
}  // namespace annex::objectstore
