#include "services/registry/lifecycle_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace annex::registry {
namespace {

constexpr int64_t kDay = 86400 * 1000;
constexpr int64_t kNow = 1'700'000'000'000;

std::string Rule(int priority, const std::string& selection) {
  return R"({"rulePriority":)" + std::to_string(priority) + R"(,"description":"a rule of the test suite",)"
         R"("selection":)" + selection + R"(,"action":{"type":"expire"}})";
}

std::string Policy(const std::string& rules) { return R"({"rules":[)" + rules + "]}"; }

LifecyclePolicy Parse(const std::string& text) {
  auto p = ParseLifecyclePolicy(text);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : LifecyclePolicy{};
}

std::vector<std::string> Expired(const LifecyclePolicy& p, const std::vector<LifecycleImage>& images) {
  std::vector<std::string> out;
  for (const auto& e : EvaluateLifecyclePolicy(p, images, kNow)) out.push_back(e.digest);
  return out;
}

TEST(LifecyclePolicy, KeepsTheNewestImagesByCount) {
  auto p = Parse(Policy(Rule(1, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2})")));
  std::vector<LifecycleImage> images = {
      {"d1", {"v1"}, kNow - 4 * kDay}, {"d2", {"v2"}, kNow - 3 * kDay}, {"d3", {}, kNow - 2 * kDay},
      {"d4", {"v4"}, kNow - 1 * kDay}};
  EXPECT_EQ(Expired(p, images), (std::vector<std::string>{"d1", "d2"}));
}

TEST(LifecyclePolicy, ExpiresByAgeInDays) {
  auto p = Parse(Policy(
      Rule(1, R"({"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14})")));
  std::vector<LifecycleImage> images = {
      {"old-untagged", {}, kNow - 15 * kDay}, {"new-untagged", {}, kNow - 13 * kDay},
      {"old-tagged", {"v1"}, kNow - 30 * kDay}};
  EXPECT_EQ(Expired(p, images), (std::vector<std::string>{"old-untagged"}));
}

TEST(LifecyclePolicy, TagPrefixesMustAllMatch) {
  auto p = Parse(Policy(Rule(
      1, R"({"tagStatus":"tagged","tagPrefixList":["prod","v"],"countType":"imageCountMoreThan","countNumber":1})")));
  std::vector<LifecycleImage> images = {
      {"a", {"prod-1", "v1"}, kNow - 3 * kDay}, {"b", {"prod-2"}, kNow - 2 * kDay},
      {"c", {"prod-3", "v3"}, kNow - 1 * kDay}};
  EXPECT_EQ(Expired(p, images), (std::vector<std::string>{"a"}));
}

TEST(LifecyclePolicy, TagPatternsUseWildcards) {
  EXPECT_TRUE(TagMatchesPattern("prod-2024-01", "prod*"));
  EXPECT_TRUE(TagMatchesPattern("release-1.2-rc", "*-rc"));
  EXPECT_TRUE(TagMatchesPattern("a-b-c", "a*b*c"));
  EXPECT_FALSE(TagMatchesPattern("dev-1", "prod*"));
  EXPECT_FALSE(TagMatchesPattern("prod", "prod?"));
  auto p = Parse(Policy(
      Rule(1, R"({"tagStatus":"tagged","tagPatternList":["*-rc*"],"countType":"imageCountMoreThan","countNumber":1})")));
  std::vector<LifecycleImage> images = {
      {"rc1", {"1.0-rc1"}, kNow - 3 * kDay}, {"final", {"1.0"}, kNow - 2 * kDay}, {"rc2", {"1.1-rc1"}, kNow - kDay}};
  EXPECT_EQ(Expired(p, images), (std::vector<std::string>{"rc1"}));
}

TEST(LifecyclePolicy, HigherPriorityRuleClaimsItsImages) {
  // Rule 1 keeps the one newest "prod" image; rule 2 keeps one image of any
  // kind, but may not expire the prod images rule 1 selected.
  auto p = Parse(Policy(
      Rule(1, R"({"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":5})") +
      "," + Rule(2, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1})")));
  std::vector<LifecycleImage> images = {
      {"prod-old", {"prod-1"}, kNow - 5 * kDay}, {"dev-old", {"dev-1"}, kNow - 4 * kDay},
      {"prod-new", {"prod-2"}, kNow - 3 * kDay}, {"dev-new", {"dev-2"}, kNow - 2 * kDay}};
  EXPECT_EQ(Expired(p, images), (std::vector<std::string>{"dev-old"}));
}

TEST(LifecyclePolicy, RulesRunInPriorityOrderWhateverTheirOrderInTheText) {
  auto p = Parse(Policy(Rule(10, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3})") + "," +
                        Rule(2, R"({"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1})")));
  ASSERT_EQ(p.rules.size(), 2u);
  EXPECT_EQ(p.rules[0].priority, 2);
  EXPECT_EQ(p.rules[1].tag_status, LifecycleTagStatus::kAny);
}

TEST(LifecyclePolicy, RefusesInvalidPoliciesAsEcrDoes) {
  const std::string any = R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1})";
  const std::string untagged = R"({"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1})";
  std::vector<std::string> bad = {
      "not json at all, but long enough to pass the length check of one hundred characters in total....",
      Policy(""),
      Policy(Rule(1, any) + "," + Rule(1, untagged)),                       // duplicate priority
      Policy(Rule(1, any) + "," + Rule(2, untagged)),                       // any not last
      Policy(Rule(1, untagged) + "," + Rule(2, untagged)),                  // two untagged rules
      Policy(Rule(0, any)),                                                 // priority out of range
      Policy(Rule(1000, any)),
      Policy(Rule(1, R"({"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1})")),  // no prefixes
      Policy(Rule(1, R"({"tagStatus":"any","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1})")),
      Policy(Rule(1, R"({"tagStatus":"any","countType":"sinceImagePushed","countNumber":1})")),  // no unit
      Policy(Rule(1, R"({"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":1})")),
      Policy(Rule(1, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0})")),
      Policy(Rule(1, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":"3"})")),
      Policy(Rule(1, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":18446744073709551615})")),
      Policy(Rule(1, R"({"tagStatus":"some","countType":"imageCountMoreThan","countNumber":1})")),
      Policy(Rule(1, R"({"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1,"tagPrefix":["x"]})")),
      Policy(Rule(1, R"({"tagStatus":"tagged","tagPatternList":["a*b*c*d*e*f"],"countType":"imageCountMoreThan","countNumber":1})")),
  };
  for (const std::string& text : bad) {
    auto p = ParseLifecyclePolicy(text);
    EXPECT_FALSE(p.ok()) << text;
    if (!p.ok()) {
      EXPECT_EQ(p.status().subcode(), "InvalidParameterException") << text;
    }
  }
  EXPECT_FALSE(ParseLifecyclePolicy(R"({"rules":[]})").ok());  // under 100 characters
  EXPECT_FALSE(ParseLifecyclePolicy(std::string(30721, ' ')).ok());
}

TEST(LifecyclePolicy, ActionOtherThanExpireIsRefused) {
  std::string text = R"({"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan",)"
                     R"("countNumber":1},"action":{"type":"transition"}}]})";
  EXPECT_FALSE(ParseLifecyclePolicy(text).ok());
}

}  // namespace
}  // namespace annex::registry
