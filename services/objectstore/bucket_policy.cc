#include "services/objectstore/bucket_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::objectstore {
namespace {

Status MalformedPolicy(std::string message) { return http::ApiStatus("MalformedPolicy", std::move(message)); }

// The policy language's error, in S3's words where they differ from IAM's.
Status FromParseError(const Status& error) {
  if (error.message() == "Syntax errors in policy.") return MalformedPolicy("This policy contains invalid Json");
  return MalformedPolicy(error.message());
}

bool HasWildcard(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

// A bucket policy speaks of the bucket itself or of its objects, and names
// the bucket literally: arn:aws:s3:::bucket, arn:aws:s3:::bucket/…, or a
// wildcard right after the name (arn:aws:s3:::bucket*).
bool ResourceInBucket(std::string_view resource, std::string_view bucket) {
  std::string arn = "arn:aws:s3:::" + std::string(bucket);
  if (!resource.starts_with(arn)) return false;
  std::string_view rest = resource.substr(arn.size());
  return rest.empty() || rest.front() == '/' || rest.front() == '*' || rest.front() == '?';
}

Status CheckStatement(const policy::Statement& s, std::string_view bucket) {
  for (const auto& action : s.actions) {
    if (action != "*" && !action.starts_with("s3:")) return MalformedPolicy("Policy has invalid action");
  }
  for (const auto& resource : s.resources) {
    if (!ResourceInBucket(resource, bucket)) return MalformedPolicy("Policy has invalid resource");
  }
  return Status::OK();
}

// -- public or not -------------------------------------------------------------

// Actions that expose a bucket's data (as lower-case prefixes or names).
constexpr auto kBadPrefixes = std::to_array<std::string_view>({"s3:get", "s3:list", "s3:put", "s3:delete"});
constexpr auto kBadNames = std::to_array<std::string_view>({"s3:abortmultipartupload", "s3:restoreobject"});

// Whether `action` (lower case, maybe with wildcards) can name a bad action.
bool CanNameBadAction(std::string_view action) {
  size_t wild = action.find_first_of("*?");
  std::string_view literal = action.substr(0, wild);
  auto overlaps = [&](std::string_view bad, bool is_prefix) {
    if (wild == std::string_view::npos) return is_prefix ? action.starts_with(bad) : action == bad;
    return bad.starts_with(literal) || literal.starts_with(bad);
  };
  return std::any_of(kBadPrefixes.begin(), kBadPrefixes.end(), [&](auto b) { return overlaps(b, true); }) ||
         std::any_of(kBadNames.begin(), kBadNames.end(), [&](auto b) { return overlaps(b, false); });
}

bool GrantsBadAction(const policy::Statement& s) {
  if (s.not_action) return true;
  return std::any_of(s.actions.begin(), s.actions.end(), [](const std::string& a) { return CanNameBadAction(a); });
}

// Whether the statement's principals are all named exactly.
bool PrincipalIsFixed(const policy::Statement& s) {
  if (!s.principal || s.not_principal) return false;
  const policy::PrincipalSet& p = *s.principal;
  if (p.everyone || !p.federated.empty()) return false;
  return std::none_of(p.aws.begin(), p.aws.end(), [](const std::string& n) { return HasWildcard(n); });
}

// A fixed value: no wildcard, no policy variable.
bool IsFixedValue(std::string_view v) { return !HasWildcard(v) && v.find("${") == std::string_view::npos; }

// A CIDR block no broader than /8 (IPv4) or /32 (IPv6); a bare address is one host.
bool IsNarrowCidr(std::string_view block) {
  size_t slash = block.find('/');
  std::string address(block.substr(0, slash));
  bool v6 = address.find(':') != std::string::npos;
  unsigned char buffer[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), buffer) != 1) return false;
  if (slash == std::string_view::npos) return true;
  std::optional<uint64_t> bits = ParseUint(block.substr(slash + 1));
  uint64_t max = v6 ? 128 : 32;
  return bits && *bits <= max && *bits >= (v6 ? 32u : 8u);
}

constexpr auto kFixingKeys = std::to_array<std::string_view>({
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
});
constexpr auto kEqualityOperators =
    std::to_array<std::string_view>({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"});

// Whether a clause lets only requests with fixed values through. A
// ForAllValues set or an …IfExists operator also passes requests without
// the key, so neither pins anything.
bool ClausePins(const policy::ConditionClause& c) {
  if (c.if_exists || c.set == policy::SetQualifier::kForAllValues || c.values.empty()) return false;
  if (c.key == "aws:sourceip") {
    return c.op == "IpAddress" && std::all_of(c.values.begin(), c.values.end(), IsNarrowCidr);
  }
  bool fixing_key = std::find(kFixingKeys.begin(), kFixingKeys.end(), c.key) != kFixingKeys.end();
  bool equality = std::find(kEqualityOperators.begin(), kEqualityOperators.end(), c.op) != kEqualityOperators.end();
  return fixing_key && equality && std::all_of(c.values.begin(), c.values.end(), IsFixedValue);
}

bool StatementIsPublic(const policy::Statement& s) {
  if (s.effect != policy::Effect::kAllow || PrincipalIsFixed(s) || !GrantsBadAction(s)) return false;
  // Conditions are ANDed: one clause that pins the request is enough.
  return std::none_of(s.conditions.begin(), s.conditions.end(), ClausePins);
}

}  // namespace

Result<policy::Policy> ParseBucketPolicy(std::string_view document, std::string_view bucket) {
  if (policy::PolicySizeWithoutWhitespace(document) > kBucketPolicyMaxBytes) {
    return http::ApiStatus("PolicyTooLarge", "Policy exceeds the maximum allowed document size.");
  }
  std::string_view trimmed = Trim(document);
  if (trimmed.empty() || trimmed.front() != '{') {
    return MalformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  }
  Result<policy::Policy> parsed = policy::ParsePolicy(document, policy::PolicyKind::kResource);
  if (!parsed.ok()) return FromParseError(parsed.status());
  for (const auto& s : parsed->statements) ANNEX_RETURN_IF_ERROR(CheckStatement(s, bucket));
  return parsed;
}

bool IsPublicPolicy(const policy::Policy& p) {
  return std::any_of(p.statements.begin(), p.statements.end(), StatementIsPublic);
}

}  // namespace annex::objectstore
