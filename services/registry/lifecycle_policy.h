#pragma once
// LifecyclePolicy: an ECR lifecycle policy — its rules parsed and checked as
// PutLifecyclePolicy checks them, and the evaluation that decides which
// images of a repository expire. The scheduler's lifecycle runner
// (lifecycle_runner.h) applies the verdict; GetLifecyclePolicyPreview shows it.
//
// Evaluation follows ECR's documented rules:
//   - rules run in rulePriority order, lowest number first;
//   - an image that matches a rule's tag requirements can no longer be
//     expired by a rule of lower priority, but still counts in that rule's
//     imageCountMoreThan as if it had not expired;
//   - imageCountMoreThan keeps the N most recently pushed images it selects;
//     sinceImagePushed expires images pushed more than N days ago;
//   - tagPrefixList / tagPatternList select an image when every entry
//     matches one of its tags; tagStatus "any" must be the last rule and
//     only one rule may select untagged images.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::registry {

enum class LifecycleTagStatus { kTagged, kUntagged, kAny };
enum class LifecycleCountType { kImageCountMoreThan, kSinceImagePushed };

struct LifecycleRule {
  int priority = 0;
  std::string description;
  LifecycleTagStatus tag_status = LifecycleTagStatus::kAny;
  std::vector<std::string> tag_prefixes;
  std::vector<std::string> tag_patterns;  // `*` matches any run of characters
  LifecycleCountType count_type = LifecycleCountType::kImageCountMoreThan;
  int64_t count_number = 0;  // images, or days
};

struct LifecyclePolicy {
  std::vector<LifecycleRule> rules;  // in priority order
};

// ECR's bounds on the policy text (LifecyclePolicyText in the model).
inline constexpr size_t kMinLifecyclePolicyChars = 100;
inline constexpr size_t kMaxLifecyclePolicyChars = 30720;

// Parses and validates `text`; InvalidParameterException saying what is wrong.
Result<LifecyclePolicy> ParseLifecyclePolicy(std::string_view text);

// True if `tag` matches `pattern` (`*` wildcards, case-sensitive).
bool TagMatchesPattern(std::string_view tag, std::string_view pattern);

// An image as the evaluation sees it.
struct LifecycleImage {
  std::string digest;
  std::vector<std::string> tags;
  int64_t pushed_ms = 0;
};

struct LifecycleExpiry {
  std::string digest;
  std::vector<std::string> tags;
  int64_t pushed_ms = 0;
  int rule_priority = 0;  // the rule that expires it
};

// The images `policy` expires at `now_ms`, oldest first.
std::vector<LifecycleExpiry> EvaluateLifecyclePolicy(const LifecyclePolicy& policy,
                                                     const std::vector<LifecycleImage>& images, int64_t now_ms);

}  // namespace annex::registry
