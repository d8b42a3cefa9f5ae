#include "services/registry/repository_name.h"

#include <gtest/gtest.h>

#include <string>

namespace annex::registry {
namespace {

TEST(RepositoryName, AcceptsWhatEcrAccepts) {
  for (const char* name : {"ab", "app", "team/app", "a.b", "a_b", "a__b", "a-b", "a---b", "my-team/sub.group/app_1",
                           "0123", "a/b/c/d"}) {
    EXPECT_TRUE(ValidateRepositoryName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateRepositoryName(std::string(256, 'a')).ok());
}

TEST(RepositoryName, RefusesWhatEcrRefuses) {
  for (const char* name : {"App", "a..b", "a._b", "-ab", "ab-", "a___b", "/ab", "ab/", "a//b", ".ab", "a b", "ab:1",
                           "a@b", "ä b", "team/App"}) {
    Status s = ValidateRepositoryName(name);
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.subcode(), "InvalidParameterException") << name;
  }
}

TEST(RepositoryName, LengthLimitsAreNamedInTheMessage) {
  Status shortName = ValidateRepositoryName("a");
  EXPECT_NE(shortName.message().find("greater than or equal to 2"), std::string::npos) << shortName.message();
  Status longName = ValidateRepositoryName(std::string(257, 'a'));
  EXPECT_NE(longName.message().find("less than or equal to 256"), std::string::npos) << longName.message();
  Status pattern = ValidateRepositoryName("Bad");
  EXPECT_NE(pattern.message().find("Invalid parameter at 'repositoryName'"), std::string::npos);
  EXPECT_NE(pattern.message().find("must satisfy regular expression"), std::string::npos);
}

TEST(RepositoryName, HugeHostileNamesAreRefusedQuickly) {
  std::string name(1 << 20, 'a');
  name[name.size() / 2] = '.';
  EXPECT_FALSE(ValidateRepositoryName(name).ok());
  std::string seps;
  for (int i = 0; i < 100; ++i) seps += "a-";
  EXPECT_FALSE(MatchesRepositoryPattern(seps));  // ends with a separator
  EXPECT_TRUE(MatchesRepositoryPattern(seps + "a"));
}

}  // namespace
}  // namespace annex::registry
