// The statement index finds exactly the statements a scan of every
// statement would let through its action and resource tests: cases by hand
// (wildcards in the service prefix, `*`, NotAction, several patterns in one
// statement, resources' literal beginnings), then differential runs over
// random statements, actions and resources, and over whole policies
// evaluated with and without their index.

#include "appliance/policy/statement_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "appliance/policy/evaluation.h"
#include "appliance/policy/wildcard.h"

namespace annex::policy {
namespace {

struct TestStatement {
  std::vector<std::string> actions;  // lower case, as ParsePolicy keeps them
  bool not_action = false;
  std::vector<std::string> resources = {};  // a Resource element's patterns; none: any resource
};

StatementIndex Index(const std::vector<TestStatement>& statements) {
  StatementIndex index;
  for (size_t i = 0; i < statements.size(); ++i) {
    index.Add(static_cast<uint32_t>(i), statements[i].actions, statements[i].not_action, statements[i].resources);
  }
  index.Finish();
  return index;
}

std::vector<uint32_t> Found(const StatementIndex& index, std::string_view action, std::string_view resource = "") {
  StatementMatches matches;
  index.Find(StatementIndex::Action(action), resource, matches);
  auto sorted = matches.Sorted();
  return {sorted.begin(), sorted.end()};
}

// What a scan of every statement decides: the statements whose Action
// matches (or whose NotAction does not), and of which some Resource pattern
// could match the resource by its text before any wildcard or variable.
std::vector<uint32_t> Scanned(const std::vector<TestStatement>& statements, std::string_view action,
                              std::string_view resource = "") {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < statements.size(); ++i) {
    bool any = false;
    for (const auto& p : statements[i].actions) any = any || WildcardMatch(p, action);
    bool named = statements[i].resources.empty();
    for (const auto& r : statements[i].resources) {
      named = named || resource.starts_with(std::string_view(r).substr(0, r.find_first_of("*?$\\")));
    }
    if (any != statements[i].not_action && named) out.push_back(static_cast<uint32_t>(i));
  }
  return out;
}

TEST(StatementIndexTest, FindsExactlyTheMatchingStatements) {
  const std::vector<TestStatement> statements = {
      {{"s3:getobject"}},                  // 0: exact
      {{"s3:get*"}},                       // 1: literal prefix then `*`
      {{"*"}},                             // 2: everything
      {{"s?:getobject"}},                  // 3: `?` in the service prefix
      {{"s3:get?bject"}},                  // 4: `?` inside the name
      {{"*object"}},                       // 5: no literal prefix at all
      {{"s3:*"}, true},                    // 6: NotAction
      {{"iam:*", "sts:assumerole"}, true},  // 7: NotAction, several patterns
      {{"s3:getobject", "s3:get*", "s3:*"}},  // 8: several patterns matching at once: found once
      {{"s3:getobjectacl"}},               // 9: longer than the action
      {{"s3:"}},                           // 10: the bare prefix, no wildcard
      {{"s3*"}},                           // 11: a wildcard before the colon
      {{"s3:g**"}},                        // 12: several stars
  };
  StatementIndex index = Index(statements);
  ASSERT_TRUE(index.Covers(statements.size()));
  EXPECT_FALSE(index.Covers(statements.size() + 1));
  EXPECT_EQ(Found(index, "s3:getobject"), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 7, 8, 11, 12}));
  EXPECT_EQ(Found(index, "s3:putobject"), (std::vector<uint32_t>{2, 5, 7, 8, 11}));
  EXPECT_EQ(Found(index, "sx:getobject"), (std::vector<uint32_t>{2, 3, 5, 6, 7}));
  EXPECT_EQ(Found(index, "iam:createuser"), (std::vector<uint32_t>{2, 6}));
  EXPECT_EQ(Found(index, "sts:assumerole"), (std::vector<uint32_t>{2, 6}));
  EXPECT_EQ(Found(index, "s3:"), (std::vector<uint32_t>{2, 7, 8, 10, 11}));
  EXPECT_EQ(Found(index, ""), (std::vector<uint32_t>{2, 6, 7}));
  for (std::string_view action : {"s3:getobject", "s3:putobject", "sx:getobject", "iam:createuser", "s3:", "", "s",
                                  "s3:getobjectacl", "s3:g", "a", "zzz"}) {
    EXPECT_EQ(Found(index, action), Scanned(statements, action)) << action;
  }
}

TEST(StatementIndexTest, ResourcesAreRuledOutByTheirLiteralBeginning) {
  const std::vector<TestStatement> statements = {
      {{"s3:*"}},                                                      // 0: no Resource element
      {{"s3:*"}, false, {"arn:aws:s3:::photos/*"}},                     // 1
      {{"s3:*"}, false, {"arn:aws:s3:::photos/a.jpg"}},                 // 2: no wildcard
      {{"s3:*"}, false, {"arn:aws:s3:::docs/*", "arn:aws:s3:::photos/secret/*"}},  // 3: either
      {{"s3:*"}, false, {"arn:aws:s3:::docs/*", "*"}},                  // 4: "*" names everything
      {{"s3:*"}, false, {"arn:aws:s3:::home/${aws:username}/*"}},       // 5: up to the variable
      {{"s3:*"}, false, {"arn:aws:s3:::ph?tos/*"}},                     // 6: up to the `?`
      {{"s3:*"}, false, {"arn:aws:s3:::photos/a\\*"}},                // 7: up to the backslash
      {{"iam:*"}, false, {"arn:aws:s3:::photos/*"}},                    // 8: another action
      {{"iam:*"}, true, {"arn:aws:s3:::photos/*"}},                     // 9: NotAction
  };
  StatementIndex index = Index(statements);
  EXPECT_EQ(Found(index, "s3:getobject", "arn:aws:s3:::photos/a.jpg"), (std::vector<uint32_t>{0, 1, 2, 4, 6, 7, 9}));
  EXPECT_EQ(Found(index, "s3:getobject", "arn:aws:s3:::photos/secret/x"),
            (std::vector<uint32_t>{0, 1, 3, 4, 6, 9}));
  EXPECT_EQ(Found(index, "s3:getobject", "arn:aws:s3:::home/alice/x"), (std::vector<uint32_t>{0, 4, 5}));
  EXPECT_EQ(Found(index, "s3:getobject", "arn:aws:s3:::pho"), (std::vector<uint32_t>{0, 4, 6}));
  EXPECT_EQ(Found(index, "iam:createuser", "arn:aws:s3:::photos/x"), (std::vector<uint32_t>{8}));
  for (std::string_view resource : {"arn:aws:s3:::photos/a.jpg", "arn:aws:s3:::photos/secret/x", "", "*",
                                    "arn:aws:s3:::home/alice/x", "arn:aws:s3:::pho", "arn:aws:s3:::docs/1"}) {
    EXPECT_EQ(Found(index, "s3:getobject", resource), Scanned(statements, "s3:getobject", resource)) << resource;
  }
}

TEST(StatementIndexTest, MoreMatchesThanFitInline) {
  std::vector<TestStatement> statements(100, TestStatement{{"s3:*"}});
  statements[50] = {{"iam:*"}};
  StatementIndex index = Index(statements);
  std::vector<uint32_t> found = Found(index, "s3:getobject");
  EXPECT_EQ(found.size(), 99u);
  EXPECT_EQ(found, Scanned(statements, "s3:getobject"));
}

TEST(StatementIndexTest, EmptyIndexAndUnfinishedIndexCoverNothing) {
  StatementIndex none;
  EXPECT_FALSE(none.Covers(0));
  EXPECT_FALSE(none.Covers(3));
  StatementIndex unfinished;
  std::vector<std::string> s3 = {"s3:*"};
  unfinished.Add(0, s3, false);
  EXPECT_FALSE(unfinished.Covers(1));
}

// Random patterns and actions from a small alphabet, so that prefixes
// collide, wildcards fall everywhere and many patterns match.
std::string RandomText(std::mt19937& rng, bool wildcards) {
  static const char* kServices[] = {"s3", "s", "iam", "sts", "s33", "ecr", ""};
  static const char kName[] = "getobjputlsa";
  std::string out = kServices[rng() % 7];
  if (rng() % 8 != 0) out += ':';
  size_t length = rng() % 8;
  for (size_t i = 0; i < length; ++i) out += kName[rng() % (sizeof(kName) - 1)];
  if (wildcards) {
    size_t marks = rng() % 3;
    for (size_t i = 0; i < marks; ++i) {
      size_t at = rng() % (out.size() + 1);
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), rng() % 3 == 0 ? '?' : '*');
    }
  }
  return out;
}

std::string RandomResource(std::mt19937& rng, bool pattern) {
  static const char kKey[] = "bk/1a";
  static const char* kPieces[] = {"*", "?", "${aws:username}", "\\\\", "${aws:userid, 'x*'}", "$"};
  std::string out = rng() % 5 ? "arn:aws:s3:::b" : "arn:aws:s3:::";
  size_t length = rng() % 6;
  for (size_t i = 0; i < length; ++i) {
    out += pattern && rng() % 4 == 0 ? kPieces[rng() % 6] : std::string(1, kKey[rng() % (sizeof(kKey) - 1)]);
  }
  if (!pattern && rng() % 4 == 0) out += "alice";
  return out;
}

TEST(StatementIndexTest, AgreesWithAScanOverRandomStatements) {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 300; ++round) {
    std::vector<TestStatement> statements(1 + rng() % 40);
    for (auto& s : statements) {
      size_t n = 1 + rng() % 3;
      for (size_t i = 0; i < n; ++i) s.actions.push_back(RandomText(rng, true));
      s.not_action = rng() % 6 == 0;
      for (size_t i = rng() % 3; i > 0; --i) s.resources.push_back(RandomResource(rng, true));
    }
    StatementIndex index = Index(statements);
    for (int probe = 0; probe < 60; ++probe) {
      // Half the probes are a pattern's own literal text, so that exact matches happen.
      std::string action = probe % 2 ? RandomText(rng, false) : statements[rng() % statements.size()].actions[0];
      action.erase(std::remove_if(action.begin(), action.end(), [](char c) { return c == '*' || c == '?'; }),
                   action.end());
      std::string resource = RandomResource(rng, false);
      ASSERT_EQ(Found(index, action), Scanned(statements, action)) << "round " << round << " action " << action;
      ASSERT_EQ(Found(index, action, resource), Scanned(statements, action, resource))
          << "round " << round << " action " << action << " resource " << resource;
    }
  }
}

// Whole policies: the verdict with each policy's index equals the verdict
// of a scan of every statement (the index and resource shapes removed).
std::string RandomPolicy(std::mt19937& rng) {
  static const char* kResources[] = {
      "*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k?", "arn:aws:s3:::b/home/${aws:username}/*", "arn:aws:s3:::*",
      "arn:aws:s3:::b", "arn:aws:s3:::b/k1", "arn:aws:s3:::b/*/x", "arn:aws:iam::111122223333:user/*"};
  auto resource = [&] { return rng() % 2 ? std::string(kResources[rng() % 9]) : RandomResource(rng, true); };
  static const char* kConditions[] = {
      "", R"(,"Condition":{"StringEquals":{"aws:username":"alice"}})",
      R"(,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})",
      R"(,"Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"}})"};
  std::string doc = R"({"Version":"2012-10-17","Statement":[)";
  size_t statements = 1 + rng() % 12;
  for (size_t i = 0; i < statements; ++i) {
    if (i) doc += ",";
    std::string action = RandomText(rng, true);
    // What ParsePolicy accepts: an alphanumeric vendor, a colon, a name.
    size_t colon = action.find(':');
    bool valid = colon != std::string::npos && colon > 0 && colon + 1 < action.size() &&
                 std::all_of(action.begin(), action.begin() + static_cast<std::ptrdiff_t>(colon),
                             [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
    if (!valid) action = rng() % 4 ? "s3:*" : "*";
    doc += std::string(R"({"Effect":")") + (rng() % 3 == 0 ? "Deny" : "Allow") + R"(",")" +
           (rng() % 6 == 0 ? "NotAction" : "Action") + R"(":[")" + action + R"("],")" +
           (rng() % 8 == 0 ? "NotResource" : "Resource") + R"(":[")" + resource() + R"(",")" + resource() + "\"]" +
           kConditions[rng() % 4] + "}";
  }
  return doc + "]}";
}

TEST(StatementIndexTest, EvaluationWithAndWithoutTheIndexAgrees) {
  std::mt19937 rng(7);
  static const char* kRequestResources[] = {"arn:aws:s3:::b/k1", "arn:aws:s3:::b/home/alice/x", "arn:aws:s3:::b/",
                                            "arn:aws:s3:::c/k1", "arn:aws:s3:::b/y/x",
                                            "arn:aws:iam::111122223333:user/bob"};
  int allowed = 0, denied = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<Policy> indexed, scanned;
    size_t n = 1 + rng() % 4;
    for (size_t i = 0; i < n; ++i) {
      std::string doc = RandomPolicy(rng);
      auto p = ParsePolicy(doc, PolicyKind::kIdentity);
      ASSERT_TRUE(p.ok()) << doc << ": " << p.status().ToString();
      ASSERT_TRUE(p->index.Covers(p->statements.size()));
      indexed.push_back(*p);
      p->index = StatementIndex{};
      for (auto& s : p->statements) s.resource_shapes.clear();
      scanned.push_back(std::move(*p));
    }
    PolicySet with, without;
    for (size_t i = 0; i < n; ++i) {
      with.identity.push_back(&indexed[i]);
      without.identity.push_back(&scanned[i]);
    }
    for (int probe = 0; probe < 30; ++probe) {
      AuthorizationRequest r;
      r.caller = {CallerType::kUser, "111122223333", "arn:aws:iam::111122223333:user/alice", ""};
      r.action = RandomText(rng, false);
      if (rng() % 2) {
        for (char& c : r.action) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));  // actions ignore case
      }
      r.resource = rng() % 2 ? kRequestResources[rng() % 6] : RandomResource(rng, false);
      r.context.Set("aws:username", "alice");
      if (rng() % 2) r.context.Set("aws:SourceIp", rng() % 2 ? "10.1.2.3" : "192.0.2.1");
      if (rng() % 2) r.context.Set("s3:prefix", "home/alice/docs");
      Verdict a = Evaluate(r, with), b = Evaluate(r, without);
      ASSERT_EQ(a.decision, b.decision) << "round " << round << " action " << r.action << " on " << r.resource;
      ASSERT_EQ(a.because, b.because);
      (a.allowed() ? allowed : denied)++;
    }
  }
  // The random policies decide both ways often enough to mean something.
  EXPECT_GT(allowed, 300);
  EXPECT_GT(denied, 300);
}

}  // namespace
}  // namespace annex::policy
