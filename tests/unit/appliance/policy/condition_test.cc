// Condition operators as IAM documents them, one case per rule.

#include "appliance/policy/condition.h"

#include <gtest/gtest.h>

#include <random>

namespace annex::policy {
namespace {

struct Case {
  const char* condition;  // the Condition element's JSON
  std::vector<std::pair<const char*, std::vector<std::string>>> context;
  bool holds;
};

// `literal` false sends every value through substitution and the general
// comparison, as a value with a policy variable goes: both ways must agree.
bool Holds(const Case& c, bool literal = true) {
  std::string doc = std::string(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":)") +
                    c.condition + "}}";
  auto policy = ParsePolicy(doc, PolicyKind::kIdentity);
  EXPECT_TRUE(policy.ok()) << c.condition << ": " << policy.status().ToString();
  if (!policy.ok()) return false;
  RequestContext context;
  for (const auto& [key, values] : c.context) context.SetAll(key, values);
  auto clauses = policy->statements[0].conditions;
  for (auto& clause : clauses) {
    EXPECT_TRUE(clause.prepared);
    if (!literal) clause.literal_values = false;
  }
  return ConditionsHold(clauses, context, true);
}

TEST(ConditionTest, EveryOperatorFamily) {
  const Case cases[] = {
      // Strings: exact, case-insensitive, wildcards; values OR together.
      {R"({"StringEquals":{"aws:username":"alice"}})", {{"aws:username", {"alice"}}}, true},
      {R"({"StringEquals":{"aws:username":"alice"}})", {{"aws:username", {"Alice"}}}, false},
      {R"({"StringEquals":{"aws:username":["bob","alice"]}})", {{"aws:username", {"alice"}}}, true},
      {R"({"StringEqualsIgnoreCase":{"aws:username":"ALICE"}})", {{"aws:username", {"alice"}}}, true},
      {R"({"StringNotEquals":{"aws:username":["bob","carol"]}})", {{"aws:username", {"alice"}}}, true},
      {R"({"StringNotEquals":{"aws:username":["bob","alice"]}})", {{"aws:username", {"alice"}}}, false},
      {R"({"StringLike":{"s3:prefix":["home/*"]}})", {{"s3:prefix", {"home/alice/"}}}, true},
      {R"({"StringLike":{"s3:prefix":["home/?"]}})", {{"s3:prefix", {"home/ab"}}}, false},
      {R"({"StringNotLike":{"s3:prefix":"tmp/*"}})", {{"s3:prefix", {"home/"}}}, true},
      {R"({"StringEquals":{"s3:prefix":"a*"}})", {{"s3:prefix", {"abc"}}}, false},  // no wildcards in Equals
      // Keys ignore case; policy variables in values.
      {R"({"StringEquals":{"AWS:UserName":"alice"}})", {{"aws:username", {"alice"}}}, true},
      {R"({"StringLike":{"s3:prefix":"home/${aws:username}/*"}})",
       {{"s3:prefix", {"home/alice/docs"}}, {"aws:username", {"alice"}}}, true},
      {R"({"StringLike":{"s3:prefix":"home/${aws:username}/*"}})",
       {{"s3:prefix", {"home/bob/docs"}}, {"aws:username", {"alice"}}}, false},
      // A missing key: false, true when negated, IfExists true.
      {R"({"StringEquals":{"aws:username":"alice"}})", {}, false},
      {R"({"StringNotEquals":{"aws:username":"alice"}})", {}, true},
      {R"({"StringEqualsIfExists":{"aws:username":"alice"}})", {}, true},
      {R"({"StringEqualsIfExists":{"aws:username":"alice"}})", {{"aws:username", {"bob"}}}, false},
      {R"({"Null":{"aws:username":"true"}})", {}, true},
      {R"({"Null":{"aws:username":"false"}})", {}, false},
      {R"({"Null":{"aws:username":"false"}})", {{"aws:username", {"x"}}}, true},
      // Numbers.
      {R"({"NumericLessThanEquals":{"s3:max-keys":"10"}})", {{"s3:max-keys", {"10"}}}, true},
      {R"({"NumericLessThan":{"s3:max-keys":10}})", {{"s3:max-keys", {"10"}}}, false},
      {R"({"NumericGreaterThan":{"s3:max-keys":"2.5"}})", {{"s3:max-keys", {"3"}}}, true},
      {R"({"NumericEquals":{"s3:max-keys":"10"}})", {{"s3:max-keys", {"ten"}}}, false},
      {R"({"NumericNotEquals":{"s3:max-keys":"10"}})", {{"s3:max-keys", {"11"}}}, true},
      // Dates: ISO 8601 and epoch seconds, either side.
      {R"({"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}})", {{"aws:CurrentTime", {"2026-12-06T23:00:00Z"}}}, true},
      {R"({"DateGreaterThan":{"aws:CurrentTime":"2026-12-07"}})", {{"aws:CurrentTime", {"2026-12-06T23:00:00Z"}}}, false},
      {R"({"DateGreaterThanEquals":{"aws:EpochTime":"2026-12-06T00:00:00+01:00"}})", {{"aws:EpochTime", {"1796511600"}}}, true},
      {R"({"DateEquals":{"aws:CurrentTime":"2026-12-06T23:00:00.000Z"}})", {{"aws:CurrentTime", {"2026-12-06T23:00:00Z"}}}, true},
      // Bool, Binary.
      {R"({"Bool":{"aws:SecureTransport":"false"}})", {{"aws:SecureTransport", {"false"}}}, true},
      {R"({"Bool":{"aws:SecureTransport":true}})", {{"aws:SecureTransport", {"false"}}}, false},
      {R"({"Bool":{"aws:MultiFactorAuthPresent":"true"}})", {{"aws:MultiFactorAuthPresent", {"false"}}}, false},
      {R"({"BinaryEquals":{"s3:x-binary":"QmluYXJ5VmFsdWU="}})", {{"s3:x-binary", {"QmluYXJ5VmFsdWU="}}}, true},
      // Addresses: IPv4 and IPv6 blocks, bare addresses.
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", {{"aws:SourceIp", {"203.0.113.77"}}}, true},
      {R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]}})", {{"aws:SourceIp", {"198.51.100.1"}}}, false},
      {R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", {{"aws:SourceIp", {"198.51.100.1"}}}, true},
      {R"({"IpAddress":{"aws:SourceIp":"127.0.0.1"}})", {{"aws:SourceIp", {"127.0.0.1"}}}, true},
      {R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})", {{"aws:SourceIp", {"2001:db8:1::5"}}}, true},
      {R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})", {{"aws:SourceIp", {"203.0.113.1"}}}, false},
      {R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}})", {{"aws:SourceIp", {"10.0.0.1"}}}, false},
      // ARNs, part by part.
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}})",
       {{"aws:PrincipalArn", {"arn:aws:iam::111122223333:role/admin-ops"}}}, true},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}})",
       {{"aws:PrincipalArn", {"arn:aws:iam::111122223333:user/admin-ops"}}}, false},
      {R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:root"}})",
       {{"aws:PrincipalArn", {"arn:aws:iam::111122223333:root"}}}, true},
      {R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}})",
       {{"aws:PrincipalArn", {"arn:aws:iam::444455556666:user/x"}}}, true},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:*"}})", {{"aws:PrincipalArn", {"not-an-arn"}}}, false},
      // Multi-valued keys and the set qualifiers.
      {R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}})", {{"aws:TagKeys", {"owner", "team"}}}, true},
      {R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}})", {{"aws:TagKeys", {"owner"}}}, false},
      {R"({"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}})", {}, false},
      {R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}})", {{"aws:TagKeys", {"env", "team"}}}, true},
      {R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}})", {{"aws:TagKeys", {"env", "owner"}}}, false},
      {R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}})", {}, true},
      {R"({"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}})", {{"aws:TagKeys", {"env", "team"}}}, true},
      {R"({"ForAnyValue:StringLike":{"aws:TagKeys":"te*"}})", {{"aws:TagKeys", {"env", "team"}}}, true},
      // Operators AND, keys AND.
      {R"({"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"111122223333"},"Bool":{"aws:SecureTransport":"true"}})",
       {{"aws:username", {"alice"}}, {"aws:PrincipalAccount", {"111122223333"}}, {"aws:SecureTransport", {"true"}}}, true},
      {R"({"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"111122223333"}})",
       {{"aws:username", {"alice"}}, {"aws:PrincipalAccount", {"444455556666"}}}, false},
  };
  int i = 0;
  for (const Case& c : cases) {
    EXPECT_EQ(Holds(c), c.holds) << "case " << i << ": " << c.condition;
    EXPECT_EQ(Holds(c, /*literal=*/false), c.holds) << "case " << i << " (substituted): " << c.condition;
    ++i;
  }
}

// Values read in advance (addresses, numbers, dates) and compared as written
// decide as the general path does, which substitutes and reads each value
// per request; and a clause assembled by hand (not prepared) as a parsed one.
TEST(ConditionTest, PreparedValuesAgreeWithTheGeneralPath) {
  static const char* kOperators[] = {
      "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
      "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
      "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
      "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
      "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"};
  // Every family's values, and values of other families and malformed ones for each operator.
  static const char* kValues[] = {
      "alice", "Alice", "a*", "a?ice", "", "home/*", "10", "10.0", "2.5", "-1", "1e1", "0x10", "ten", " 5",
      "2026-12-06T23:00:00Z", "2026-12-07", "1796511600", "2026-12-06T23:00:00.5+01:00", "2026-13-01",
      "10.0.0.0/8", "10.1.2.3", "10.0.0.0/0", "::1/128", "::1", "2001:db8::/32", "2001:db8::7", "::ffff:10.1.2.3",
      "10.0.0.0/33", "300.1.1.1", "10.0.0.0/8.0", "10.0.0.0/-1", "10.0.0.0/x", "/8",
      "arn:aws:iam::*:role/admin-*", "arn:aws:iam::111122223333:role/admin-ops", "arn:aws:iam::111122223333:*",
      "not-an-arn", "true", "false", "TRUE"};
  constexpr size_t kCount = sizeof(kValues) / sizeof(kValues[0]);
  std::mt19937 rng(42);
  int held = 0, failed = 0;
  for (int round = 0; round < 20000; ++round) {
    ConditionClause clause;
    clause.op = kOperators[rng() % 27];
    clause.set = static_cast<SetQualifier>(rng() % 3);
    clause.if_exists = clause.op != "Null" && rng() % 4 == 0;
    clause.key = "k:key";
    for (size_t n = 1 + rng() % 3; n > 0; --n) clause.values.push_back(kValues[rng() % kCount]);
    ConditionClause by_hand = clause;
    PrepareCondition(clause);
    ASSERT_TRUE(clause.literal_values);
    ConditionClause general = clause;
    general.literal_values = false;

    RequestContext context;
    size_t n = rng() % 4;  // 0: the key is absent
    if (n > 0) {
      std::vector<std::string> values;
      for (; n > 0; --n) values.push_back(kValues[rng() % kCount]);
      context.SetAll("K:Key", values);
    }
    bool prepared = ConditionsHold({clause}, context, true);
    ASSERT_EQ(prepared, ConditionsHold({general}, context, true)) << "round " << round << ": " << clause.op;
    ASSERT_EQ(prepared, ConditionsHold({by_hand}, context, true)) << "round " << round << ": " << clause.op;
    (prepared ? held : failed)++;
  }
  EXPECT_GT(held, 4000);
  EXPECT_GT(failed, 4000);
}

}  // namespace
}  // namespace annex::policy
