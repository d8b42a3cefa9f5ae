#include "services/objectstore/lifecycle_config.h"

#include <chrono>
#include <set>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/s3_call.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr size_t kMaxRules = 1000;
constexpr size_t kMaxRuleIdLength = 255;

Status InvalidArgument(std::string message) { return http::ApiStatus("InvalidArgument", std::move(message)); }
Status InvalidRequest(std::string message) { return http::ApiStatus("InvalidRequest", std::move(message)); }

// A positive integer element (Days …); `what` names it in the error.
Result<std::optional<int64_t>> PositiveInt(const pugi::xml_node& parent, const char* name, std::string_view what,
                                           int64_t max = INT32_MAX) {
  pugi::xml_node node = parent.child(name);
  if (!node) return std::optional<int64_t>();
  auto v = ParseUint(Trim(node.text().get()));
  if (!v || *v == 0 || *v > static_cast<uint64_t>(max)) {
    return InvalidArgument("'" + std::string(name) + "' for " + std::string(what) + " must be a positive integer");
  }
  return std::optional<int64_t>(static_cast<int64_t>(*v));
}

Result<std::optional<uint64_t>> SizeBound(const pugi::xml_node& parent, const char* name) {
  pugi::xml_node node = parent.child(name);
  if (!node) return std::optional<uint64_t>();
  auto v = ParseUint(Trim(node.text().get()));
  if (!v) return MalformedXml();
  return std::optional<uint64_t>(*v);
}

Status ReadTag(const pugi::xml_node& tag, TagSet& tags) {
  ANNEX_RETURN_IF_ERROR(ExpectChildren(tag, {"Key", "Value"}));
  if (!tag.child("Key")) return MalformedXml();
  tags.emplace_back(http::ChildText(tag, "Key"), http::ChildText(tag, "Value"));
  return Status::OK();
}

Status ParseFilter(const pugi::xml_node& rule, LifecycleFilter& f) {
  pugi::xml_node filter = rule.child("Filter");
  pugi::xml_node legacy = rule.child("Prefix");
  if (filter && legacy) return MalformedXml();
  if (legacy) {
    f.legacy_prefix = true;
    f.prefix = legacy.text().get();
    return Status::OK();
  }
  if (!filter) return Status::OK();  // S3 treats a rule without a filter as applying to every object
  // A filter names one condition, or several inside <And>; an empty filter selects every object.
  ANNEX_RETURN_IF_ERROR(ExpectChildren(filter, {"Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And"}));
  if (ChildElementCount(filter) > 1) return MalformedXml();
  pugi::xml_node scope = filter;
  if (pugi::xml_node a = filter.child("And")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(a, {"Prefix", "ObjectSizeGreaterThan", "ObjectSizeLessThan"}, {"Tag"}));
    if (ChildElementCount(a) == 0) return MalformedXml();
    scope = a;
    for (pugi::xml_node tag : a.children("Tag")) ANNEX_RETURN_IF_ERROR(ReadTag(tag, f.tags));
  } else if (pugi::xml_node tag = filter.child("Tag")) {
    ANNEX_RETURN_IF_ERROR(ReadTag(tag, f.tags));
  }
  f.prefix = http::ChildText(scope, "Prefix");
  ANNEX_ASSIGN_OR_RETURN(f.size_greater_than, SizeBound(scope, "ObjectSizeGreaterThan"));
  ANNEX_ASSIGN_OR_RETURN(f.size_less_than, SizeBound(scope, "ObjectSizeLessThan"));
  if (f.size_greater_than && f.size_less_than && *f.size_greater_than >= *f.size_less_than) {
    return InvalidArgument("ObjectSizeGreaterThan must be less than ObjectSizeLessThan");
  }
  return Status::OK();
}

Status ParseExpiration(const pugi::xml_node& e, LifecycleRule& r) {
  ANNEX_RETURN_IF_ERROR(ExpectChildren(e, {"Days", "Date", "ExpiredObjectDeleteMarker"}));
  ANNEX_ASSIGN_OR_RETURN(r.expiration_days, PositiveInt(e, "Days", "Expiration action"));
  int given = r.expiration_days ? 1 : 0;
  if (pugi::xml_node date = e.child("Date")) {
    auto t = ParseIso8601(Trim(date.text().get()));
    if (!t) return InvalidArgument("Invalid date format");
    int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
    if (ms % kDayMs != 0) return InvalidArgument("'Date' must be at midnight GMT");
    r.expiration_date_ms = ms;
    ++given;
  }
  if (pugi::xml_node marker = e.child("ExpiredObjectDeleteMarker")) {
    std::string_view v = Trim(marker.text().get());
    if (v != "true" && v != "false") return MalformedXml();
    r.expired_object_delete_marker = v == "true";
    ++given;
  }
  if (given != 1) return MalformedXml();
  return Status::OK();
}

Result<LifecycleRule> ParseRule(const pugi::xml_node& node) {
  LifecycleRule r;
  ANNEX_RETURN_IF_ERROR(ExpectChildren(node,
                                       {"ID", "Prefix", "Filter", "Status", "Expiration", "NoncurrentVersionExpiration",
                                        "AbortIncompleteMultipartUpload"},
                                       {"Transition", "NoncurrentVersionTransition"}));
  r.id = http::ChildText(node, "ID");
  if (r.id.size() > kMaxRuleIdLength) return InvalidArgument("ID length should not exceed allowed limit of 255");
  std::string_view status = http::ChildText(node, "Status");
  if (status != "Enabled" && status != "Disabled") return MalformedXml();
  r.enabled = status == "Enabled";
  ANNEX_RETURN_IF_ERROR(ParseFilter(node, r.filter));
  if (node.child("Transition") || node.child("NoncurrentVersionTransition")) {
    return http::ApiStatus("InvalidStorageClass",
                           "The storage class you specified is not valid: the appliance has only STANDARD");
  }
  if (pugi::xml_node e = node.child("Expiration")) ANNEX_RETURN_IF_ERROR(ParseExpiration(e, r));
  if (pugi::xml_node n = node.child("NoncurrentVersionExpiration")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(n, {"NoncurrentDays", "NewerNoncurrentVersions"}));
    ANNEX_ASSIGN_OR_RETURN(r.noncurrent_days, PositiveInt(n, "NoncurrentDays", "NoncurrentVersionExpiration action"));
    ANNEX_ASSIGN_OR_RETURN(r.newer_noncurrent_versions,
                           PositiveInt(n, "NewerNoncurrentVersions", "NoncurrentVersionExpiration action", 100));
    if (!r.noncurrent_days) return MalformedXml();
  }
  if (pugi::xml_node a = node.child("AbortIncompleteMultipartUpload")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(a, {"DaysAfterInitiation"}));
    ANNEX_ASSIGN_OR_RETURN(r.abort_incomplete_days,
                           PositiveInt(a, "DaysAfterInitiation", "AbortIncompleteMultipartUpload action"));
    if (!r.abort_incomplete_days) return MalformedXml();
    if (!r.filter.tags.empty() || r.filter.size_greater_than || r.filter.size_less_than) {
      return InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags or object size filters.");
    }
  }
  if (r.expired_object_delete_marker && !r.filter.tags.empty()) {
    return InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tag filter.");
  }
  bool any_action = r.expiration_days || r.expiration_date_ms || r.expired_object_delete_marker ||
                    r.noncurrent_days || r.abort_incomplete_days;
  if (!any_action) return InvalidRequest("At least one action needs to be specified in a rule");
  return r;
}

void RenderFilter(http::XmlNode rule, const LifecycleFilter& f) {
  if (f.legacy_prefix) {
    rule.Add("Prefix", f.prefix);
    return;
  }
  http::XmlNode filter = rule.Child("Filter");
  int conditions = (f.prefix.empty() ? 0 : 1) + static_cast<int>(f.tags.size()) + (f.size_greater_than ? 1 : 0) +
                   (f.size_less_than ? 1 : 0);
  http::XmlNode scope = conditions > 1 ? filter.Child("And") : filter;
  if (!f.prefix.empty() || conditions == 0) scope.Add("Prefix", f.prefix);
  for (const auto& [k, v] : f.tags) scope.Child("Tag").Add("Key", k).Add("Value", v);
  if (f.size_greater_than) scope.Add("ObjectSizeGreaterThan", *f.size_greater_than);
  if (f.size_less_than) scope.Add("ObjectSizeLessThan", *f.size_less_than);
}

}  // namespace

Result<LifecycleConfiguration> ParseLifecycleConfiguration(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "LifecycleConfiguration"));
  LifecycleConfiguration config;
  ANNEX_RETURN_IF_ERROR(ExpectChildren(doc.document_element(), {}, {"Rule"}));
  std::set<std::string> ids;
  for (pugi::xml_node node : doc.document_element().children("Rule")) {
    if (config.rules.size() == kMaxRules) return InvalidArgument("Rules count should not exceed allowed limit of 1000");
    ANNEX_ASSIGN_OR_RETURN(LifecycleRule rule, ParseRule(node));
    if (rule.id.empty()) rule.id = "rule-" + std::to_string(config.rules.size() + 1);
    if (!ids.insert(rule.id).second) {
      return InvalidArgument("Rule ID must be unique. Found same ID for more than one rule");
    }
    config.rules.push_back(std::move(rule));
  }
  if (config.rules.empty()) return MalformedXml();
  return config;
}

std::string RenderLifecycleConfiguration(const LifecycleConfiguration& config) {
  http::XmlDocument doc("LifecycleConfiguration", http::kS3XmlNamespace);
  for (const LifecycleRule& r : config.rules) {
    http::XmlNode rule = doc.root().Child("Rule");
    if (r.expiration_days || r.expiration_date_ms || r.expired_object_delete_marker) {
      http::XmlNode e = rule.Child("Expiration");
      if (r.expiration_days) e.Add("Days", static_cast<uint64_t>(*r.expiration_days));
      if (r.expiration_date_ms) e.Add("Date", Iso8601(*r.expiration_date_ms));
      if (r.expired_object_delete_marker) e.AddBool("ExpiredObjectDeleteMarker", true);
    }
    rule.Add("ID", r.id);
    RenderFilter(rule, r.filter);
    rule.Add("Status", r.enabled ? "Enabled" : "Disabled");
    if (r.noncurrent_days) {
      http::XmlNode n = rule.Child("NoncurrentVersionExpiration");
      n.Add("NoncurrentDays", static_cast<uint64_t>(*r.noncurrent_days));
      if (r.newer_noncurrent_versions) n.Add("NewerNoncurrentVersions", static_cast<uint64_t>(*r.newer_noncurrent_versions));
    }
    if (r.abort_incomplete_days) {
      rule.Child("AbortIncompleteMultipartUpload")
          .Add("DaysAfterInitiation", static_cast<uint64_t>(*r.abort_incomplete_days));
    }
  }
  return doc.Render();
}

bool RuleSelects(const LifecycleRule& rule, const ObjectRecord& v) {
  const LifecycleFilter& f = rule.filter;
  if (!StartsWith(v.key, f.prefix)) return false;
  if (f.size_greater_than && !(v.size > *f.size_greater_than)) return false;
  if (f.size_less_than && !(v.size < *f.size_less_than)) return false;
  for (const auto& tag : f.tags) {
    bool has = false;
    for (const auto& t : v.tags) has = has || t == tag;
    if (!has) return false;
  }
  return true;
}

int64_t CeilToMidnightUtc(int64_t ms) { return (ms + kDayMs - 1) / kDayMs * kDayMs; }

std::optional<int64_t> CurrentExpiry(const LifecycleRule& rule, const ObjectRecord& object) {
  if (!rule.enabled || object.delete_marker || !RuleSelects(rule, object)) return std::nullopt;
  if (rule.expiration_days) return CeilToMidnightUtc(object.modified_ms + *rule.expiration_days * kDayMs);
  if (rule.expiration_date_ms) return *rule.expiration_date_ms;
  return std::nullopt;
}

std::string ExpirationHeader(const LifecycleConfiguration& config, const ObjectRecord& object) {
  const LifecycleRule* first = nullptr;
  int64_t earliest = 0;
  for (const LifecycleRule& rule : config.rules) {
    std::optional<int64_t> at = CurrentExpiry(rule, object);
    if (at && (!first || *at < earliest)) {
      first = &rule;
      earliest = *at;
    }
  }
  if (!first) return "";
  return "expiry-date=\"" + HttpDate(earliest) + "\", rule-id=\"" + first->id + "\"";
}

}  // namespace annex::objectstore
