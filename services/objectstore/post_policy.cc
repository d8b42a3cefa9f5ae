#include "services/objectstore/post_policy.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "appliance/http/api_error.h"

namespace annex::objectstore {
namespace {

using Json = nlohmann::json;

Status BadPolicy(std::string detail) { return http::ApiStatus("InvalidPolicyDocument", "Invalid Policy: " + detail); }

Status Refused(std::string detail) {
  return http::ApiStatus("AccessDenied", "Invalid according to Policy: " + std::string(detail));
}

std::string Quoted(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

// "$key" names field "key"; a name without '$' names none.
std::string FieldOf(std::string_view name) { return StartsWith(name, "$") ? ToLower(name.substr(1)) : ""; }

Result<PostCondition> ParseSimpleCondition(const Json& c) {
  if (c.size() != 1) {
    return BadPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.");
  }
  auto it = c.begin();
  if (!it.value().is_string()) return BadPolicy("Invalid Simple-Condition: value must be a string.");
  PostCondition p;
  p.field = ToLower(it.key());
  p.value = it.value().get<std::string>();
  p.text = "[\"eq\", " + Quoted("$" + it.key()) + ", " + Quoted(p.value) + "]";
  return p;
}

// A size: a JSON integer or its decimal text, never negative.
std::optional<uint64_t> SizeOf(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) return ParseUint(v.get<std::string>());
  return std::nullopt;
}

Result<PostCondition> ParseListCondition(const Json& c) {
  if (c.empty() || !c[0].is_string()) return BadPolicy("Invalid Condition: missing operation identifier.");
  std::string op = ToLower(c[0].get<std::string>());
  PostCondition p;
  if (op == "content-length-range") {
    if (c.size() != 3) return BadPolicy("Invalid content-length-range: wrong number of arguments.");
    std::optional<uint64_t> min = SizeOf(c[1]), max = SizeOf(c[2]);
    if (!min || !max) return BadPolicy("Invalid content-length-range: invalid size.");
    p.kind = PostCondition::Kind::kLengthRange;
    p.min = *min;
    p.max = *max;
    p.text = c.dump();
    return p;
  }
  if (op != "eq" && op != "starts-with") return BadPolicy("Invalid Condition: unknown operation '" + op + "'.");
  if (c.size() != 3) return BadPolicy("Invalid " + op + ": wrong number of arguments.");
  if (!c[1].is_string() || !c[2].is_string()) return BadPolicy("Invalid " + op + ": arguments must be strings.");
  std::string name = c[1].get<std::string>();
  p.kind = op == "eq" ? PostCondition::Kind::kEq : PostCondition::Kind::kStartsWith;
  p.field = FieldOf(name);
  p.value = c[2].get<std::string>();
  p.text = "[" + Quoted(op) + ", " + Quoted(name) + ", " + Quoted(p.value) + "]";
  return p;
}

// The expiration as S3 writes it: 2007-12-01T12:00:00.000Z (the fraction optional).
std::optional<SystemTime> ParseExpiration(std::string_view s) {
  if (s.size() != 20 && s.size() != 24) return std::nullopt;
  if (s.size() == 24 && s[19] != '.') return std::nullopt;
  std::optional<SystemTime> t = ParseIso8601(s);
  // A date the calendar does not have (Feb 30) would come back as another day.
  if (t && FormatIso8601(*t).substr(0, 19) != s.substr(0, 19)) return std::nullopt;
  return t;
}

bool StartsWithEach(std::string_view value, std::string_view prefix, bool is_list) {
  if (!is_list) return StartsWith(value, prefix);
  for (std::string_view item : Split(value, ',')) {
    if (!StartsWith(Trim(item), prefix)) return false;
  }
  return true;
}

bool Holds(const PostCondition& c, const PostFields& fields, std::string_view bucket) {
  if (c.kind == PostCondition::Kind::kLengthRange) return true;  // checked as the file streams
  if (c.field.empty()) return false;
  std::string bucket_value(bucket);
  const std::string* value = c.field == "bucket" ? &bucket_value : FindPostField(fields, c.field);
  if (c.kind == PostCondition::Kind::kEq) return value && *value == c.value;
  if (c.value.empty()) return true;
  return value && StartsWithEach(*value, c.value, c.field == "content-type");
}

bool Exempt(std::string_view name) {
  return name == "x-amz-signature" || name == "signature" || name == "awsaccesskeyid" || name == "policy" ||
         name == "file" || StartsWith(name, "x-ignore-");
}

}  // namespace

const std::string* FindPostField(const PostFields& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

Result<PostPolicy> ParsePostPolicy(std::string_view policy_base64) {
  std::optional<std::string> text = Base64Decode(Trim(policy_base64));
  if (!text) return BadPolicy("invalid Base64 encoding.");
  Json doc = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return BadPolicy("Invalid JSON.");
  auto expiration = doc.find("expiration");
  if (expiration == doc.end()) return BadPolicy("Policy missing expiration.");
  std::optional<SystemTime> when;
  if (expiration->is_string()) when = ParseExpiration(expiration->get<std::string>());
  if (!when) {
    std::string shown = expiration->is_string() ? expiration->get<std::string>() : expiration->dump();
    return BadPolicy("Invalid 'expiration' value: '" + shown + "'");
  }
  auto conditions = doc.find("conditions");
  if (conditions == doc.end()) return BadPolicy("Policy missing conditions.");
  if (!conditions->is_array()) return BadPolicy("Invalid 'conditions' value: must be a List.");
  PostPolicy policy;
  policy.expiration = *when;
  for (const Json& c : *conditions) {
    Result<PostCondition> parsed =
        c.is_object()  ? ParseSimpleCondition(c)
        : c.is_array() ? ParseListCondition(c)
                       : Result<PostCondition>(BadPolicy("Invalid condition test: must be a List or Object."));
    if (!parsed.ok()) return parsed.status();
    policy.conditions.push_back(std::move(*parsed));
  }
  return policy;
}

Status CheckPostPolicy(const PostPolicy& policy, const PostFields& fields, std::string_view bucket, SystemTime now) {
  if (now > policy.expiration) return Refused("Policy expired.");
  for (const PostCondition& c : policy.conditions) {
    if (!Holds(c, fields, bucket)) return Refused("Policy Condition failed: " + c.text);
  }
  auto covered = [&](std::string_view name) {
    return std::any_of(policy.conditions.begin(), policy.conditions.end(),
                       [&](const PostCondition& c) { return c.field == name; });
  };
  if (!covered("bucket")) return Refused("Extra input fields: bucket");
  for (const PostField& f : fields) {
    if (!Exempt(f.name) && !covered(f.name)) return Refused("Extra input fields: " + f.name);
  }
  return Status::OK();
}

LengthRange AllowedLength(const PostPolicy& policy) {
  LengthRange range;
  for (const PostCondition& c : policy.conditions) {
    if (c.kind != PostCondition::Kind::kLengthRange) continue;
    range.min = std::max(range.min, c.min);
    range.max = std::min(range.max, c.max);
  }
  return range;
}

Status CheckLength(const LengthRange& range, uint64_t size) {
  if (size > range.max) {
    return http::ApiStatus("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
  }
  if (size < range.min) {
    return http::ApiStatus("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size");
  }
  return Status::OK();
}

}  // namespace annex::objectstore
