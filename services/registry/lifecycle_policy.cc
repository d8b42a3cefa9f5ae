#include "services/registry/lifecycle_policy.h"

#include "appliance/core/strings.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "appliance/http/api_error.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

constexpr int kMaxRulePriority = 999;
constexpr size_t kMaxRules = 50;
constexpr size_t kMaxListEntries = 100;
constexpr int kMaxPatternWildcards = 4;

Status Invalid(std::string_view reason) {
  return http::ApiStatus("InvalidParameterException",
                         "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                         "'Lifecycle policy validation failure: " + std::string(reason) + "'");
}

// Every member of `j` must be one of `known`: a misspelt member would
// otherwise silently select more images than meant.
Status OnlyMembers(const Json& j, std::initializer_list<std::string_view> known, std::string_view where) {
  for (const auto& [key, value] : j.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Invalid("object instance has properties which are not allowed by the schema: [\"" + key + "\"] in " +
                     std::string(where));
    }
  }
  return Status::OK();
}

// An integer member within [min, max]; huge unsigned values never wrap.
bool InRange(const Json& j, int64_t min, int64_t max) {
  if (j.is_number_unsigned()) return j.get<uint64_t>() <= static_cast<uint64_t>(max) && j.get<uint64_t>() >= static_cast<uint64_t>(min);
  int64_t v = j.get<int64_t>();
  return v >= min && v <= max;
}

Result<std::vector<std::string>> StringList(const Json& selection, const char* name) {
  std::vector<std::string> out;
  auto it = selection.find(name);
  if (it == selection.end()) return out;
  if (!it->is_array() || it->empty() || it->size() > kMaxListEntries) {
    return Invalid(std::string(name) + " must be a non-empty array of at most 100 strings");
  }
  for (const Json& e : *it) {
    if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
      return Invalid(std::string(name) + " entries must be non-empty strings");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Status ParseTagSelection(const Json& sel, LifecycleRule& rule) {
  auto status = sel.find("tagStatus");
  if (status == sel.end() || !status->is_string()) return Invalid("selection.tagStatus is required");
  const std::string& s = status->get_ref<const std::string&>();
  if (s == "tagged") rule.tag_status = LifecycleTagStatus::kTagged;
  else if (s == "untagged") rule.tag_status = LifecycleTagStatus::kUntagged;
  else if (s == "any") rule.tag_status = LifecycleTagStatus::kAny;
  else return Invalid("tagStatus must be one of tagged, untagged, any, not \"" + s + "\"");
  ANNEX_ASSIGN_OR_RETURN(rule.tag_prefixes, StringList(sel, "tagPrefixList"));
  ANNEX_ASSIGN_OR_RETURN(rule.tag_patterns, StringList(sel, "tagPatternList"));
  bool has_list = !rule.tag_prefixes.empty() || !rule.tag_patterns.empty();
  if (!rule.tag_prefixes.empty() && !rule.tag_patterns.empty()) {
    return Invalid("a rule may specify tagPrefixList or tagPatternList, not both");
  }
  if (rule.tag_status == LifecycleTagStatus::kTagged && !has_list) {
    return Invalid("tagPrefixList or tagPatternList is required when tagStatus is tagged");
  }
  if (rule.tag_status != LifecycleTagStatus::kTagged && has_list) {
    return Invalid("tagPrefixList and tagPatternList are only allowed when tagStatus is tagged");
  }
  for (const std::string& p : rule.tag_patterns) {
    if (std::count(p.begin(), p.end(), '*') > kMaxPatternWildcards) {
      return Invalid("a tagPatternList entry may contain at most 4 wildcards");
    }
  }
  return Status::OK();
}

Status ParseCount(const Json& sel, LifecycleRule& rule) {
  auto type = sel.find("countType");
  auto number = sel.find("countNumber");
  auto unit = sel.find("countUnit");
  if (type == sel.end() || !type->is_string()) return Invalid("selection.countType is required");
  if (number == sel.end() || !number->is_number_integer()) return Invalid("selection.countNumber must be an integer");
  if (!InRange(*number, 1, INT32_MAX)) return Invalid("selection.countNumber must be between 1 and 2147483647");
  rule.count_number = number->get<int64_t>();
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "imageCountMoreThan") {
    rule.count_type = LifecycleCountType::kImageCountMoreThan;
    if (unit != sel.end()) return Invalid("countUnit is not allowed with countType imageCountMoreThan");
  } else if (t == "sinceImagePushed") {
    rule.count_type = LifecycleCountType::kSinceImagePushed;
    if (unit == sel.end() || *unit != "days") return Invalid("countUnit must be \"days\" with countType sinceImagePushed");
  } else {
    return Invalid("countType must be imageCountMoreThan or sinceImagePushed, not \"" + t + "\"");
  }
  return Status::OK();
}

Result<LifecycleRule> ParseRule(const Json& j) {
  if (!j.is_object()) return Invalid("each rule must be an object");
  ANNEX_RETURN_IF_ERROR(OnlyMembers(j, {"rulePriority", "description", "selection", "action"}, "rule"));
  LifecycleRule rule;
  auto priority = j.find("rulePriority");
  if (priority == j.end() || !priority->is_number_integer()) return Invalid("rulePriority must be an integer");
  if (!InRange(*priority, 1, kMaxRulePriority)) return Invalid("rulePriority must be between 1 and 999");
  rule.priority = static_cast<int>(priority->get<int64_t>());
  if (auto d = j.find("description"); d != j.end()) {
    if (!d->is_string()) return Invalid("description must be a string");
    rule.description = d->get<std::string>();
  }
  auto sel = j.find("selection");
  if (sel == j.end() || !sel->is_object()) return Invalid("each rule needs a selection object");
  ANNEX_RETURN_IF_ERROR(OnlyMembers(*sel, {"tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit",
                                           "countNumber"}, "selection"));
  ANNEX_RETURN_IF_ERROR(ParseTagSelection(*sel, rule));
  ANNEX_RETURN_IF_ERROR(ParseCount(*sel, rule));
  auto action = j.find("action");
  if (action == j.end() || !action->is_object() || !action->contains("type") || (*action)["type"] != "expire") {
    return Invalid("each rule needs an action of type \"expire\"");
  }
  ANNEX_RETURN_IF_ERROR(OnlyMembers(*action, {"type"}, "action"));
  return rule;
}

// The rules together: unique priorities, one untagged rule, "any" last.
Status CheckRuleSet(const std::vector<LifecycleRule>& rules) {
  std::set<int> priorities;
  int untagged = 0;
  for (const LifecycleRule& r : rules) {
    if (!priorities.insert(r.priority).second) {
      return Invalid("rulePriority " + std::to_string(r.priority) + " is used by more than one rule");
    }
    untagged += r.tag_status == LifecycleTagStatus::kUntagged;
  }
  if (untagged > 1) return Invalid("only one rule may select untagged images");
  for (size_t i = 0; i + 1 < rules.size(); ++i) {
    if (rules[i].tag_status == LifecycleTagStatus::kAny) {
      return Invalid("the rule with tagStatus any must have the highest rulePriority");
    }
  }
  return Status::OK();
}

bool Selects(const LifecycleRule& rule, const LifecycleImage& image) {
  switch (rule.tag_status) {
    case LifecycleTagStatus::kAny: return true;
    case LifecycleTagStatus::kUntagged: return image.tags.empty();
    case LifecycleTagStatus::kTagged: break;
  }
  if (image.tags.empty()) return false;
  auto any_tag = [&](auto&& match) { return std::any_of(image.tags.begin(), image.tags.end(), match); };
  for (const std::string& prefix : rule.tag_prefixes) {
    if (!any_tag([&](const std::string& t) { return t.starts_with(prefix); })) return false;
  }
  for (const std::string& pattern : rule.tag_patterns) {
    if (!any_tag([&](const std::string& t) { return TagMatchesPattern(t, pattern); })) return false;
  }
  return true;
}

}  // namespace

Result<LifecyclePolicy> ParseLifecyclePolicy(std::string_view text) {
  if (text.size() < kMinLifecyclePolicyChars || text.size() > kMaxLifecyclePolicyChars) {
    return http::ApiStatus("InvalidParameterException",
                           "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'must have length "
                           "between 100 and 30720'");
  }
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Invalid("the policy is not a JSON object");
  ANNEX_RETURN_IF_ERROR(OnlyMembers(doc, {"rules"}, "policy"));
  auto rules = doc.find("rules");
  if (rules == doc.end() || !rules->is_array() || rules->empty()) return Invalid("rules must be a non-empty array");
  if (rules->size() > kMaxRules) return Invalid("a policy may have at most 50 rules");
  LifecyclePolicy policy;
  for (const Json& r : *rules) {
    ANNEX_ASSIGN_OR_RETURN(LifecycleRule rule, ParseRule(r));
    policy.rules.push_back(std::move(rule));
  }
  std::sort(policy.rules.begin(), policy.rules.end(),
            [](const LifecycleRule& a, const LifecycleRule& b) { return a.priority < b.priority; });
  ANNEX_RETURN_IF_ERROR(CheckRuleSet(policy.rules));
  return policy;
}

bool TagMatchesPattern(std::string_view tag, std::string_view pattern) { return StarMatch(tag, pattern); }

std::vector<LifecycleExpiry> EvaluateLifecyclePolicy(const LifecyclePolicy& policy,
                                                     const std::vector<LifecycleImage>& images, int64_t now_ms) {
  // Newest first: imageCountMoreThan keeps a prefix of this order.
  std::vector<const LifecycleImage*> order;
  for (const LifecycleImage& i : images) order.push_back(&i);
  std::stable_sort(order.begin(), order.end(), [](const LifecycleImage* a, const LifecycleImage* b) {
    return a->pushed_ms != b->pushed_ms ? a->pushed_ms > b->pushed_ms : a->digest < b->digest;
  });
  std::set<const LifecycleImage*> claimed;
  std::vector<LifecycleExpiry> out;
  for (const LifecycleRule& rule : policy.rules) {
    std::vector<const LifecycleImage*> selected;
    for (const LifecycleImage* i : order) {
      if (Selects(rule, *i)) selected.push_back(i);
    }
    for (size_t n = 0; n < selected.size(); ++n) {
      const LifecycleImage* i = selected[n];
      bool expires = rule.count_type == LifecycleCountType::kImageCountMoreThan
                         ? static_cast<int64_t>(n) >= rule.count_number
                         : now_ms - i->pushed_ms > rule.count_number * 86400 * 1000;
      if (expires && !claimed.count(i)) out.push_back({i->digest, i->tags, i->pushed_ms, rule.priority});
    }
    claimed.insert(selected.begin(), selected.end());
  }
  std::sort(out.begin(), out.end(), [](const LifecycleExpiry& a, const LifecycleExpiry& b) {
    return a.pushed_ms != b.pushed_ms ? a.pushed_ms < b.pushed_ms : a.digest < b.digest;
  });
  return out;
}

}  // namespace annex::registry
