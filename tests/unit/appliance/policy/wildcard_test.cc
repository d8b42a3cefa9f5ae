#include "appliance/policy/wildcard.h"

#include <gtest/gtest.h>

#include "appliance/policy/variables.h"

namespace annex::policy {
namespace {

TEST(WildcardTest, StarAndQuestionMark) {
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("s3:*", "s3:GetObject"));
  EXPECT_TRUE(WildcardMatch("s3:Get*", "s3:GetObject"));
  EXPECT_FALSE(WildcardMatch("s3:Get*", "s3:PutObject"));
  EXPECT_TRUE(WildcardMatch("s3:*Object", "s3:GetObject"));
  EXPECT_TRUE(WildcardMatch("arn:aws:s3:::bucket/*/a?c", "arn:aws:s3:::bucket/x/y/abc"));
  EXPECT_FALSE(WildcardMatch("arn:aws:s3:::bucket/*/a?c", "arn:aws:s3:::bucket/x/y/ac"));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYbZZc"));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYYbZZ"));
  EXPECT_FALSE(WildcardMatch("abc", "abcd"));
  EXPECT_FALSE(WildcardMatch("abcd", "abc"));
  EXPECT_TRUE(WildcardMatch("S3:getobject", "s3:GetObject", /*ignore_case=*/true));
  EXPECT_FALSE(WildcardMatch("S3:getobject", "s3:GetObject"));
}

TEST(WildcardTest, EscapedPatternsMatchRequestValuesLiterally) {
  RequestContext context;
  context.Set("aws:username", "a*");
  auto pattern = SubstituteVariables("arn:aws:s3:::home/${aws:username}/*", context, true);
  ASSERT_TRUE(pattern);
  EXPECT_TRUE(EscapedWildcardMatch(*pattern, "arn:aws:s3:::home/a*/file"));
  EXPECT_FALSE(EscapedWildcardMatch(*pattern, "arn:aws:s3:::home/anne/file"));  // the user's `*` is not a wildcard
}

TEST(VariablesTest, SubstitutionDefaultsAndSpecialCharacters) {
  RequestContext context;
  context.Set("aws:username", "alice");
  context.SetAll("aws:TagKeys", {"a", "b"});
  EXPECT_EQ(SubstituteVariables("home/${aws:username}/", context, true), "home/alice/");
  EXPECT_EQ(SubstituteVariables("home/${AWS:UserName}/", context, true), "home/alice/");  // keys ignore case
  EXPECT_EQ(SubstituteVariables("${aws:userid}", context, true), std::nullopt);
  EXPECT_EQ(SubstituteVariables("${aws:userid, 'nobody'}", context, true), "nobody");
  EXPECT_EQ(SubstituteVariables("${aws:TagKeys}", context, true), std::nullopt);  // no single value
  EXPECT_EQ(SubstituteVariables("a${*}b${?}c${$}", context, true), "a\\*b\\?c$");
  // Under the 2008-10-17 version variables are text.
  EXPECT_EQ(SubstituteVariables("home/${aws:username}", context, false), "home/${aws:username}");
}

}  // namespace
}  // namespace annex::policy
