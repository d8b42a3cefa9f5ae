#pragma once
// The policy document of a browser form upload (S3 POST Object): a base64
// JSON object with an `expiration` and `conditions` that the form's fields
// must meet, and the checks S3 makes with it.
//
//   {"bucket": "b"}, ["eq", "$key", "k"]     exact match (names case-insensitive)
//   ["starts-with", "$key", "user/"]          prefix ("" accepts anything, even no field);
//                                             a Content-Type list must match in each item
//   ["content-length-range", 1, 1048576]      the file's size, checked as it streams
//
// Every field of the form but x-amz-signature, signature, AWSAccessKeyId,
// policy, file and x-ignore-* must be named by a condition, and so must the
// bucket. Errors are S3's: InvalidPolicyDocument for a document S3 cannot
// read, AccessDenied "Invalid according to Policy: …" for a form it does
// not allow, EntityTooSmall/EntityTooLarge for the file's size.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/core/strings.h"

namespace annex::objectstore {

// A form field before the file; `name` lower-case.
struct PostField {
  std::string name;
  std::string value;
};
using PostFields = std::vector<PostField>;

// The value of field `name` (lower-case), or null.
const std::string* FindPostField(const PostFields& fields, std::string_view name);

struct PostCondition {
  enum class Kind { kEq, kStartsWith, kLengthRange };
  Kind kind = Kind::kEq;
  // The field named, lower-case without the '$'; empty when the condition
  // named it without a '$' (such a condition never holds, as in S3).
  std::string field;
  std::string value;
  uint64_t min = 0, max = 0;  // kLengthRange
  // As S3 quotes it when it fails: ["eq", "$key", "k"].
  std::string text;
};

struct PostPolicy {
  SystemTime expiration;
  std::vector<PostCondition> conditions;
};

// Decodes and parses the `policy` field; InvalidPolicyDocument.
Result<PostPolicy> ParsePostPolicy(std::string_view policy_base64);

// Whether the form may be stored: not expired, every condition but the
// size holds for `fields` (the key already with ${filename} replaced;
// `bucket` is the request's), and no field goes uncovered. AccessDenied.
Status CheckPostPolicy(const PostPolicy& policy, const PostFields& fields, std::string_view bucket, SystemTime now);

// The sizes the policy allows for the file (all ranges at once).
struct LengthRange {
  uint64_t min = 0;
  uint64_t max = std::numeric_limits<uint64_t>::max();
};
LengthRange AllowedLength(const PostPolicy& policy);
// EntityTooSmall / EntityTooLarge for a file of `size` bytes.
Status CheckLength(const LengthRange& range, uint64_t size);

}  // namespace annex::objectstore
