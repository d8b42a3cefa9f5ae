#include "services/objectstore/object_lock.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/xml.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/s3_call.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr int64_t kDayMs = 86400000;
// S3 caps a default retention at 100 years; days and years alike.
constexpr uint64_t kMaxDefaultDays = 36500;
constexpr uint64_t kMaxDefaultYears = 100;

Status InvalidArgument(std::string message) { return http::ApiStatus("InvalidArgument", std::move(message)); }

Status ProtectedByLock() {
  return http::ApiStatus("AccessDenied", "Access Denied because object protected by object lock.");
}

std::optional<LockMode> ModeFromName(std::string_view name) {
  if (name == "GOVERNANCE") return LockMode::kGovernance;
  if (name == "COMPLIANCE") return LockMode::kCompliance;
  return std::nullopt;
}

std::optional<int64_t> ParseDateMs(std::string_view text) {
  std::optional<SystemTime> t = ParseIso8601(Trim(text));
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

Status RetainDateNotInFuture() { return InvalidArgument("The retain until date must be in the future!"); }

// A positive count of at most `max` in a DefaultRetention element.
Result<uint32_t> ParsePeriod(std::string_view text, uint64_t max) {
  std::optional<uint64_t> n = ParseUint(Trim(text));
  if (!n) return MalformedXml();
  if (*n == 0) return InvalidArgument("Default retention period must be a positive integer value.");
  if (*n > max) return InvalidArgument("Default retention period is too large.");
  return static_cast<uint32_t>(*n);
}

Result<BucketObjectLock> ParseDefaultRetention(const pugi::xml_node& retention) {
  BucketObjectLock out;
  ANNEX_RETURN_IF_ERROR(ExpectChildren(retention, {"Mode", "Days", "Years"}));
  std::optional<LockMode> mode = ModeFromName(http::ChildText(retention, "Mode"));
  if (!mode) return MalformedXml();
  out.default_mode = *mode;
  pugi::xml_node days = retention.child("Days");
  pugi::xml_node years = retention.child("Years");
  if (static_cast<bool>(days) == static_cast<bool>(years)) return MalformedXml();
  if (days) {
    ANNEX_ASSIGN_OR_RETURN(out.default_days, ParsePeriod(days.text().get(), kMaxDefaultDays));
  } else {
    ANNEX_ASSIGN_OR_RETURN(out.default_years, ParsePeriod(years.text().get(), kMaxDefaultYears));
  }
  return out;
}

}  // namespace

std::string_view LockModeName(LockMode mode) {
  switch (mode) {
    case LockMode::kGovernance: return "GOVERNANCE";
    case LockMode::kCompliance: return "COMPLIANCE";
    case LockMode::kNone: break;
  }
  return "";
}

Result<BucketObjectLock> ParseObjectLockConfiguration(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "ObjectLockConfiguration"));
  pugi::xml_node root = doc.document_element();
  ANNEX_RETURN_IF_ERROR(ExpectChildren(root, {"ObjectLockEnabled", "Rule"}));
  if (http::ChildText(root, "ObjectLockEnabled") != "Enabled") return MalformedXml();
  BucketObjectLock out;
  if (pugi::xml_node rule = root.child("Rule")) {
    ANNEX_RETURN_IF_ERROR(ExpectChildren(rule, {"DefaultRetention"}));
    pugi::xml_node retention = rule.child("DefaultRetention");
    if (!retention) return MalformedXml();
    ANNEX_ASSIGN_OR_RETURN(out, ParseDefaultRetention(retention));
  }
  out.enabled = true;
  return out;
}

std::string RenderObjectLockConfiguration(const BucketObjectLock& config) {
  http::XmlDocument doc("ObjectLockConfiguration", http::kS3XmlNamespace);
  doc.root().Add("ObjectLockEnabled", "Enabled");
  if (config.default_mode != LockMode::kNone) {
    http::XmlNode retention = doc.root().Child("Rule").Child("DefaultRetention");
    retention.Add("Mode", LockModeName(config.default_mode));
    if (config.default_days) retention.Add("Days", uint64_t{config.default_days});
    if (config.default_years) retention.Add("Years", uint64_t{config.default_years});
  }
  return doc.Render();
}

Result<ObjectLockState> ParseRetention(std::string_view body, int64_t now_ms) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "Retention"));
  pugi::xml_node root = doc.document_element();
  pugi::xml_node mode_node = root.child("Mode");
  pugi::xml_node date_node = root.child("RetainUntilDate");
  ObjectLockState out;
  if (!mode_node && !date_node) return out;  // removes the retention
  if (!mode_node || !date_node) return MalformedXml();
  std::optional<LockMode> mode = ModeFromName(Trim(mode_node.text().get()));
  std::optional<int64_t> until = ParseDateMs(date_node.text().get());
  if (!mode || !until) return MalformedXml();
  if (*until <= now_ms) return RetainDateNotInFuture();
  out.mode = *mode;
  out.retain_until_ms = *until;
  return out;
}

std::string RenderRetention(const ObjectLockState& state) {
  http::XmlDocument doc("Retention", http::kS3XmlNamespace);
  doc.root().Add("Mode", LockModeName(state.mode));
  doc.root().Add("RetainUntilDate", FormatIso8601Ms(state.retain_until_ms));
  return doc.Render();
}

Result<bool> ParseLegalHold(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "LegalHold"));
  std::string_view status = Trim(http::ChildText(doc.document_element(), "Status"));
  if (status == "ON") return true;
  if (status == "OFF") return false;
  return MalformedXml();
}

std::string RenderLegalHold(bool on) {
  http::XmlDocument doc("LegalHold", http::kS3XmlNamespace);
  doc.root().Add("Status", on ? "ON" : "OFF");
  return doc.Render();
}

bool UnderRetention(const ObjectLockState& state, int64_t now_ms) {
  return state.mode != LockMode::kNone && state.retain_until_ms > now_ms;
}

bool IsLocked(const ObjectLockState& state, int64_t now_ms) {
  return state.legal_hold || UnderRetention(state, now_ms);
}

Status CheckVersionDeletable(const ObjectLockState& state, int64_t now_ms, bool bypass_governance) {
  if (state.legal_hold) return ProtectedByLock();
  if (!UnderRetention(state, now_ms)) return Status::OK();
  if (state.mode == LockMode::kGovernance && bypass_governance) return Status::OK();
  return ProtectedByLock();
}

Status CheckRetentionChange(const ObjectLockState& current, const ObjectLockState& wanted, int64_t now_ms,
                            bool bypass_governance) {
  if (!UnderRetention(current, now_ms)) return Status::OK();
  const bool kept = wanted.mode != LockMode::kNone && wanted.retain_until_ms >= current.retain_until_ms;
  if (current.mode == LockMode::kCompliance) {
    return kept && wanted.mode == LockMode::kCompliance ? Status::OK() : ProtectedByLock();
  }
  // GOVERNANCE: extending it (or making it COMPLIANCE) only strengthens it.
  return kept || bypass_governance ? Status::OK() : ProtectedByLock();
}

void ApplyDefaultRetention(const BucketObjectLock& config, int64_t now_ms, ObjectLockState& state) {
  if (!config.enabled || config.default_mode == LockMode::kNone || state.mode != LockMode::kNone) return;
  const int64_t days = config.default_days ? int64_t{config.default_days} : int64_t{config.default_years} * 365;
  state.mode = config.default_mode;
  state.retain_until_ms = now_ms + days * kDayMs;
}

bool HasObjectLockHeaders(const http::Headers& headers) {
  return headers.Has("x-amz-object-lock-mode") || headers.Has("x-amz-object-lock-retain-until-date") ||
         headers.Has("x-amz-object-lock-legal-hold");
}

Result<std::optional<ObjectLockState>> ParseObjectLockHeaders(const http::Headers& headers, int64_t now_ms) {
  if (!HasObjectLockHeaders(headers)) return std::optional<ObjectLockState>();
  const std::string* mode = headers.Get("x-amz-object-lock-mode");
  const std::string* until = headers.Get("x-amz-object-lock-retain-until-date");
  const std::string* hold = headers.Get("x-amz-object-lock-legal-hold");
  ObjectLockState out;
  if (static_cast<bool>(mode) != static_cast<bool>(until)) {
    return InvalidArgument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied");
  }
  if (mode) {
    std::optional<LockMode> m = ModeFromName(Trim(*mode));
    if (!m) return InvalidArgument("Unknown wormMode directive.");
    std::optional<int64_t> ms = ParseDateMs(*until);
    if (!ms) return InvalidArgument("The retain until date must be provided in ISO 8601 format");
    if (*ms <= now_ms) return RetainDateNotInFuture();
    out.mode = *m;
    out.retain_until_ms = *ms;
  }
  if (hold) {
    std::string_view h = Trim(*hold);
    if (h != "ON" && h != "OFF") return InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'");
    out.legal_hold = h == "ON";
    out.legal_hold_set = true;
  }
  return std::optional<ObjectLockState>(out);
}

Status RequireObjectLock(const BucketRecord& bucket) {
  if (bucket.object_lock.enabled) return Status::OK();
  return http::ApiStatus("InvalidRequest", "Bucket is missing Object Lock Configuration");
}

bool GovernanceBypassed(const S3Call& call, const BucketRecord& bucket, std::string_view key) {
  const std::string* header = call.headers().Get("x-amz-bypass-governance-retention");
  if (!header || !EqualsIgnoreCase(Trim(*header), "true")) return false;
  S3Target target{"s3:BypassGovernanceRetention", ObjectArn(call.bucket(), key)};
  return AuthorizeS3(call, bucket, Access::kOwner, nullptr, &target).ok();
}

Result<ObjectLockState> ObjectLockForWrite(const S3Call& call, const BucketRecord& bucket,
                                           const http::Headers& headers) {
  ANNEX_ASSIGN_OR_RETURN(std::optional<ObjectLockState> asked, ParseObjectLockHeaders(headers, call.store.NowMillis()));
  if (!asked) return ObjectLockState();
  ANNEX_RETURN_IF_ERROR(RequireObjectLock(bucket));
  if (asked->mode != LockMode::kNone) {
    S3Target target{"s3:PutObjectRetention", ObjectArn(call.bucket(), call.key())};
    ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kOwner, nullptr, &target));
  }
  if (asked->legal_hold_set) {
    S3Target target{"s3:PutObjectLegalHold", ObjectArn(call.bucket(), call.key())};
    ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kOwner, nullptr, &target));
  }
  return *asked;
}

void AddObjectLockHeaders(const ObjectLockState& state, http::Headers& out) {
  if (state.mode != LockMode::kNone) {
    out.Set("x-amz-object-lock-mode", std::string(LockModeName(state.mode)));
    out.Set("x-amz-object-lock-retain-until-date", FormatIso8601Ms(state.retain_until_ms));
  }
  if (state.legal_hold_set) out.Set("x-amz-object-lock-legal-hold", state.legal_hold ? "ON" : "OFF");
}

void HideUnpermittedObjectLock(const S3Call& call, const BucketRecord& bucket, ObjectLockState& state) {
  const bool retention = state.mode != LockMode::kNone;
  if (!retention && !state.legal_hold_set) return;
  // Only asks; a denial hides the fields and never fails the read.
  auto holds = [&](std::string_view action) {
    S3Target target{action, ObjectArn(call.bucket(), call.key())};
    return AuthorizeS3(call, bucket, Access::kOwner, nullptr, &target).ok();
  };
  if (retention && !holds("s3:GetObjectRetention")) {
    state.mode = LockMode::kNone;
    state.retain_until_ms = 0;
  }
  if (state.legal_hold_set && !holds("s3:GetObjectLegalHold")) {
    state.legal_hold = false;
    state.legal_hold_set = false;
  }
}

}  // namespace annex::objectstore
