#pragma once
// Policy: an IAM policy document, validated and compiled once when it is
// stored, so a request only matches prepared patterns (evaluation.h).
//
// The language is AWS's (IAM JSON policy reference): Version, Statement (one
// or a list), Sid, Effect, Principal/NotPrincipal (resource and trust
// policies only), Action/NotAction, Resource/NotResource (not in trust
// policies), Condition. Parse refuses what IAM refuses, with IAM's error
// code and a message saying what is wrong: MalformedPolicyDocument, or
// LimitExceeded for a document over its kind's size limit.
//
// Pure data and functions; thread-safe once built.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/policy/statement_index.h"

namespace annex::policy {

// Where a document is used decides which elements it may (or must) have.
enum class PolicyKind {
  kIdentity,  // managed or inline policies, permissions boundaries, session policies
  kResource,  // bucket and repository policies: Principal required
  kTrust,     // a role's AssumeRolePolicyDocument: Principal required, no Resource
};

enum class Effect { kAllow, kDeny };

// Principal / NotPrincipal: "*", or principals by type.
struct PrincipalSet {
  bool everyone = false;              // "*" or {"AWS": "*"}
  std::vector<std::string> aws;       // account ids and ARNs, as written
  std::vector<std::string> services;  // "lambda.amazonaws.com", …
  std::vector<std::string> federated;
  std::vector<std::string> canonical_users;
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

// What an operator compares, and how (its positive form: StringNotLike is
// kStringLike, negated).
enum class Comparison : uint8_t {
  kStringEquals, kStringEqualsIgnoreCase, kStringLike, kNumeric, kDate, kBool, kBinaryEquals, kIpAddress, kArn, kNull,
};
enum class Relation : uint8_t { kEquals, kLessThan, kLessThanEquals, kGreaterThan, kGreaterThanEquals };

// An IpAddress value parsed: a block of addresses (a bare address is a /32 or /128).
struct AddressBlock {
  bool valid = false;  // an invalid block matches no address
  bool v6 = false;
  int bits = 0;
  unsigned char network[16] = {};
};

// A condition value prepared for its comparison when the policy is parsed.
struct PreparedValue {
  std::optional<double> number;  // kNumeric, kDate: the value read as one (nullopt: it matches nothing)
  AddressBlock block;            // kIpAddress
};

// One key of one operator: "StringLike": {"s3:prefix": ["home/", "home/*"]}.
struct ConditionClause {
  std::string op;  // the base operator as AWS spells it: "StringLike", "IpAddress", "Null", …
  SetQualifier set = SetQualifier::kNone;
  bool if_exists = false;
  std::string key;  // lower case: condition keys are case-insensitive
  std::vector<std::string> values;

  // Worked out from the above once, by ParsePolicy (PrepareCondition in
  // condition.h); a clause assembled by hand is prepared when evaluated.
  bool prepared = false;
  Comparison comparison = Comparison::kStringEquals;
  Relation relation = Relation::kEquals;
  bool negated = false;
  // No value holds a policy variable or a backslash: each is its own
  // pattern, compared as written, and `prepared_values` (one per value)
  // hold what could be read from them in advance.
  bool literal_values = false;
  std::vector<PreparedValue> prepared_values;
};

// How a Resource pattern is matched, worked out once when it is parsed.
struct PatternShape {
  // Its characters before the first `*`, `?`, `$` or backslash: whatever
  // the substitution of variables, a resource must begin with them.
  size_t literal = 0;
  // It holds a variable or a backslash, so it goes through substitution
  // (variables.h); the others match as written (the common case).
  bool needs_substitution = false;
  // As written, only `*`s follow the literal part: any rest matches.
  bool anything_after = false;
};
PatternShape ShapeOf(std::string_view pattern);

struct Statement {
  std::string sid;
  Effect effect = Effect::kAllow;
  std::optional<PrincipalSet> principal;  // set in resource and trust policies
  bool not_principal = false;
  std::vector<std::string> actions;  // lower case; `*` and `?` wildcards
  // Per action: its literal part before the first wildcard. An action that
  // does not start with it cannot match, and most statements of a large
  // policy set are ruled out by that alone.
  std::vector<std::string> action_prefixes;
  bool not_action = false;
  std::vector<std::string> resources;  // `*`, `?` and policy variables
  // Per resource, how it is matched (ShapeOf): most are ruled out by their
  // literal beginning alone (another bucket, another key prefix).
  std::vector<PatternShape> resource_shapes;
  bool not_resource = false;
  bool has_resource = false;  // trust policies have none
  std::vector<ConditionClause> conditions;
};

struct Policy {
  std::string version;  // "2012-10-17" or "2008-10-17"
  std::vector<Statement> statements;
  // The statements by their Action and Resource patterns, built by
  // ParsePolicy; a request visits only those that can apply to it.
  // Statements changed after parsing need a new index (a policy whose
  // statement count differs from the index's is scanned whole).
  StatementIndex index;
  // Policy variables (${aws:username}) are read only under 2012-10-17; under
  // the old version they are literal text.
  bool variables() const { return version == "2012-10-17"; }
};

// IAM's size limits in characters, whitespace not counted.
inline constexpr size_t kManagedPolicyMaxChars = 6144;
inline constexpr size_t kTrustPolicyMaxChars = 2048;
inline constexpr size_t kResourcePolicyMaxBytes = 20 * 1024;  // S3's bucket policy limit

// Parses and validates `document` as a policy of `kind`. `max_chars` bounds
// its non-whitespace characters (0: no bound); over it, LimitExceeded.
Result<Policy> ParsePolicy(std::string_view document, PolicyKind kind, size_t max_chars = 0);

// Characters other than whitespace, as IAM counts a policy's size.
size_t PolicySizeWithoutWhitespace(std::string_view document);

// The base operators the Condition element accepts (without IfExists or a set qualifier).
bool IsConditionOperator(std::string_view op);

}  // namespace annex::policy
