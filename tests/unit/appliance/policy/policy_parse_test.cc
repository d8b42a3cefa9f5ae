// Policy documents are validated as IAM validates them: every malformed
// kind refused with MalformedPolicyDocument and a message naming the
// problem, oversized ones with LimitExceeded.

#include <gtest/gtest.h>

#include "appliance/policy/policy.h"

namespace annex::policy {
namespace {

TEST(PolicyParseTest, ReadsEveryElement) {
  auto p = ParsePolicy(R"({
    "Version": "2012-10-17",
    "Id": "example",
    "Statement": [
      {"Sid": "ReadHome", "Effect": "Allow", "Action": ["s3:GetObject", "S3:ListBucket"],
       "Resource": "arn:aws:s3:::home/${aws:username}/*",
       "Condition": {"StringLike": {"s3:prefix": ["home/", "home/*"]},
                     "ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "team"},
                     "Bool": {"aws:SecureTransport": true},
                     "NumericLessThan": {"s3:max-keys": 10}}},
      {"Effect": "Deny", "NotAction": "s3:*", "NotResource": ["arn:aws:s3:::home", "arn:aws:s3:::home/*"]}
    ]})",
                       PolicyKind::kIdentity);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->variables());
  ASSERT_EQ(p->statements.size(), 2u);
  const Statement& s = p->statements[0];
  EXPECT_EQ(s.sid, "ReadHome");
  EXPECT_EQ(s.actions, (std::vector<std::string>{"s3:getobject", "s3:listbucket"}));
  ASSERT_EQ(s.conditions.size(), 4u);  // one clause per key
  bool found_set = false;
  for (const auto& c : s.conditions) {
    if (c.key == "aws:tagkeys") {
      found_set = true;
      EXPECT_EQ(c.op, "StringEquals");
      EXPECT_EQ(c.set, SetQualifier::kForAnyValue);
      EXPECT_TRUE(c.if_exists);
    }
    if (c.key == "aws:securetransport") {
      EXPECT_EQ(c.values, (std::vector<std::string>{"true"}));
    }
    if (c.key == "s3:max-keys") {
      EXPECT_EQ(c.values, (std::vector<std::string>{"10"}));
    }
  }
  EXPECT_TRUE(found_set);
  EXPECT_TRUE(p->statements[1].not_action);
  EXPECT_TRUE(p->statements[1].not_resource);
}

TEST(PolicyParseTest, ResourceAndTrustPoliciesNamePrincipals) {
  auto bucket = ParsePolicy(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:user/bob"]},
      "Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}})",
                            PolicyKind::kResource);
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  EXPECT_EQ(bucket->statements[0].principal->aws.size(), 2u);

  auto trust = ParsePolicy(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]})",
                           PolicyKind::kTrust);
  ASSERT_TRUE(trust.ok()) << trust.status().ToString();
  EXPECT_FALSE(trust->statements[0].has_resource);

  auto everyone = ParsePolicy(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",
      "Resource":"arn:aws:s3:::site/*"}})",
                              PolicyKind::kResource);
  ASSERT_TRUE(everyone.ok());
  EXPECT_TRUE(everyone->statements[0].principal->everyone);
  EXPECT_FALSE(everyone->variables());  // no Version: the 2008 rules
}

struct BadCase {
  const char* name;
  PolicyKind kind;
  const char* document;
  const char* message;  // a part of the expected message
};

TEST(PolicyParseTest, MalformedDocumentsAreRefusedWithIamsMessages) {
  const BadCase cases[] = {
      {"not json", PolicyKind::kIdentity, "{\"Version\": ", "Syntax errors in policy."},
      {"not an object", PolicyKind::kIdentity, "[]", "must be a JSON object"},
      {"unknown top field", PolicyKind::kIdentity, R"({"Version":"2012-10-17","Statment":[]})", "unknown field Statment"},
      {"bad version", PolicyKind::kIdentity,
       R"({"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}})",
       "The policy failed legacy parsing"},
      {"no statement", PolicyKind::kIdentity, R"({"Version":"2012-10-17"})", "missing Statement"},
      {"empty statement list", PolicyKind::kIdentity, R"({"Version":"2012-10-17","Statement":[]})", "non-empty list"},
      {"no effect", PolicyKind::kIdentity, R"({"Statement":{"Action":"s3:*","Resource":"*"}})",
       "Missing required field Effect"},
      {"bad effect", PolicyKind::kIdentity, R"({"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}})",
       "Invalid effect: allow"},
      {"no action", PolicyKind::kIdentity, R"({"Statement":{"Effect":"Allow","Resource":"*"}})",
       "Policy statement must contain actions."},
      {"action and notaction", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}})",
       "both Action and NotAction"},
      {"action without vendor", PolicyKind::kIdentity, R"({"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}})",
       "must be prefaced by a vendor"},
      {"action not a string", PolicyKind::kIdentity, R"({"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}})",
       "Action must be a string or a list of strings"},
      {"no resource", PolicyKind::kIdentity, R"({"Statement":{"Effect":"Allow","Action":"s3:*"}})",
       "Policy statement must contain resources."},
      {"resource not an arn", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"photos/*"}})", "must be in ARN format"},
      {"short arn", PolicyKind::kIdentity, R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3"}})",
       "must be in ARN format"},
      {"principal in identity policy", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}})",
       "should not specify a principal"},
      {"no principal in bucket policy", PolicyKind::kResource,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}})", "Missing required field Principal"},
      {"bad principal", PolicyKind::kResource,
       R"({"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:*","Resource":"*"}})",
       "Invalid principal"},
      {"unknown principal type", PolicyKind::kResource,
       R"({"Statement":{"Effect":"Allow","Principal":{"Users":"*"},"Action":"s3:*","Resource":"*"}})",
       "unknown principal type"},
      {"resource in trust policy", PolicyKind::kTrust,
       R"({"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}})",
       "Has prohibited field Resource"},
      {"trust policy without principal", PolicyKind::kTrust,
       R"({"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}})", "invalid principal"},
      {"unknown statement field", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Conditions":{}}})", "unknown field Conditions"},
      {"unknown condition operator", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringMatches":{"aws:username":"a"}}}})",
       "Invalid Condition type : StringMatches"},
      {"NullIfExists", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}})",
       "Invalid Condition type : NullIfExists"},
      {"condition key without vendor", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}})",
       "must be prefaced by a vendor"},
      {"condition value an object", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":{}}}}})",
       "condition values must be"},
      {"duplicate sid", PolicyKind::kIdentity,
       R"({"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]})",
       "must be unique"},
      {"sid with spaces", PolicyKind::kIdentity,
       R"({"Statement":{"Sid":"read all","Effect":"Allow","Action":"s3:*","Resource":"*"}})", "alpha-numeric"},
  };
  for (const BadCase& c : cases) {
    auto p = ParsePolicy(c.document, c.kind);
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(p.status().subcode(), "MalformedPolicyDocument") << c.name;
    EXPECT_NE(p.status().message().find(c.message), std::string::npos) << c.name << ": " << p.status().message();
  }
}

TEST(PolicyParseTest, SizeIsCountedWithoutWhitespace) {
  std::string statement = R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k"})";
  std::string doc = R"({"Version":"2012-10-17","Statement":[)" + statement;
  while (PolicySizeWithoutWhitespace(doc) + statement.size() + 3 <= kManagedPolicyMaxChars) doc += "," + statement;
  std::string indented;
  for (char c : doc + "]}") {
    indented.push_back(c);
    if (c == ',') indented += "\n    ";
  }
  EXPECT_TRUE(ParsePolicy(indented, PolicyKind::kIdentity, kManagedPolicyMaxChars).ok()) << "whitespace is free";
  auto big = ParsePolicy(doc + "," + statement + "]}", PolicyKind::kIdentity, kManagedPolicyMaxChars);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().subcode(), "LimitExceeded");
  EXPECT_EQ(big.status().message(), "Cannot exceed quota for PolicySize: 6144");
}

}  // namespace
}  // namespace annex::policy
