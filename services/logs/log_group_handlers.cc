// CreateLogGroup, DeleteLogGroup, DescribeLogGroups, Put/DeleteRetentionPolicy.

#include <algorithm>
#include <array>

#include "appliance/http/api_error.h"
#include "services/logs/logs_call.h"

namespace annex::logs {
namespace {

// CloudWatch's allowed retention periods, in days.
constexpr std::array<int, 22> kRetentionDays = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                                365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

Status CheckTags(const std::map<std::string, std::string>& tags) {
  if (tags.empty() || tags.size() > 50) {
    return ConstraintError("tags", "{...}", "Member must have length between 1 and 50");
  }
  for (const auto& [k, v] : tags) {
    if (k.empty() || Utf8Length(k) > 128) return ConstraintError("tags", k, "Member must have length between 1 and 128");
    if (k.starts_with("aws:")) return InvalidParameter("Tag keys beginning with aws: are reserved");
    if (Utf8Length(v) > 256) return ConstraintError("tags", v, "Member must have length less than or equal to 256");
  }
  return Status::OK();
}

}  // namespace

Status CheckTagMap(const std::map<std::string, std::string>& tags) { return CheckTags(tags); }

Status ToLogsError(Status s) {
  if (s.ok() || !s.subcode().empty()) return s;
  switch (s.code()) {
    case StatusCode::kNotFound:
      return http::ApiStatus("ResourceNotFoundException", s.message());
    case StatusCode::kAlreadyExists:
      return http::ApiStatus("ResourceAlreadyExistsException", s.message());
    case StatusCode::kInvalidArgument:
      return http::ApiStatus("InvalidParameterException", s.message());
    default:
      return s;
  }
}

std::string LogGroupArn(const LogsCall& call, const std::string& group) {
  return "arn:aws:logs:" + call.ctx.region + ":" + call.account + ":log-group:" + group;
}

Result<std::string> GroupFromNameOrIdentifier(const LogsCall& call) {
  ANNEX_ASSIGN_OR_RETURN(auto name, call.params.String("logGroupName", kLogGroupNameRule));
  ANNEX_ASSIGN_OR_RETURN(auto identifier, call.params.String("logGroupIdentifier", {1, 2048, nullptr, ""}));
  if (name && identifier) return InvalidParameter("LogGroup name and LogGroup identifier are mutually exclusive");
  if (name) return std::move(*name);
  if (!identifier) return InvalidParameter("Either logGroupName or logGroupIdentifier must be specified");
  // An ARN of this account and region, or a plain name.
  std::string prefix = "arn:aws:logs:" + call.ctx.region + ":" + call.account + ":log-group:";
  std::string id = *identifier;
  if (id.starts_with("arn:")) {
    if (!id.starts_with(prefix)) return http::ApiStatus("ResourceNotFoundException", "The specified log group does not exist.");
    id = id.substr(prefix.size());
    if (id.ends_with(":*")) id.resize(id.size() - 2);
  }
  if (!kLogGroupNameRule.valid(id) || id.empty() || id.size() > 512) {
    return ConstraintError("logGroupIdentifier", *identifier, "Member must name a log group");
  }
  return id;
}

Task<Answer> CreateLogGroup(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto kms, call.params.String("kmsKeyId", {0, 256, nullptr, ""}));
  if (kms) co_return InvalidParameter("KMS encryption of log groups is not available on this appliance");
  ANNEX_CO_ASSIGN_OR_RETURN(auto log_class, call.params.String("logGroupClass"));
  if (log_class && *log_class != "STANDARD") {
    co_return InvalidParameter("Only the STANDARD log group class is available on this appliance");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(auto tags, call.params.StringMap("tags"));
  if (tags) ANNEX_CO_RETURN_IF_ERROR(CheckTags(*tags));
  Status s = co_await call.Blocking([&] { return call.store.CreateGroup(call.account, group, tags.value_or(Tags{})); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> DeleteLogGroup(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  Status s = co_await call.Blocking([&] { return call.store.DeleteGroup(call.account, group); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> DescribeLogGroups(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto prefix, call.params.String("logGroupNamePrefix", kLogGroupNameRule));
  StringRule pattern_rule = kLogGroupNameRule;
  pattern_rule.min = 0;
  ANNEX_CO_ASSIGN_OR_RETURN(auto pattern, call.params.String("logGroupNamePattern", pattern_rule));
  if (prefix && pattern) {
    co_return InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(auto limit, call.params.Long("limit", 1, 50));
  ANNEX_CO_ASSIGN_OR_RETURN(auto token, call.params.String("nextToken", kNextTokenRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto log_class, call.params.String("logGroupClass"));
  ListGroupsQuery query;
  query.prefix = prefix.value_or("");
  query.contains_ci = pattern.value_or("");
  query.limit = static_cast<size_t>(limit.value_or(50));
  if (token) {
    if (!token->starts_with("n/")) co_return InvalidParameter("The specified nextToken is invalid.");
    query.after = token->substr(2);
  }
  auto page = call.store.ListGroups(call.account, query);
  if (!page.ok()) co_return ToLogsError(page.status());
  Json groups = Json::array();
  for (const LogGroupInfo& g : page->groups) {
    if (log_class && *log_class != "STANDARD") continue;
    std::string arn = LogGroupArn(call, g.name);
    Json j = {{"logGroupName", g.name},  {"creationTime", g.creation_ms}, {"metricFilterCount", 0},
              {"arn", arn + ":*"},       {"logGroupArn", arn},            {"storedBytes", g.stored_bytes},
              {"logGroupClass", "STANDARD"}, {"deletionProtectionEnabled", false}};
    if (g.retention_days) j["retentionInDays"] = *g.retention_days;
    groups.push_back(std::move(j));
  }
  Json out = {{"logGroups", std::move(groups)}};
  if (page->more && !page->groups.empty()) out["nextToken"] = "n/" + page->groups.back().name;
  co_return out;
}

Task<Answer> PutRetentionPolicy(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto days, call.params.Long("retentionInDays", INT32_MIN, INT32_MAX));
  if (!days) {
    co_return InvalidParameter(
        "1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null");
  }
  if (std::find(kRetentionDays.begin(), kRetentionDays.end(), *days) == kRetentionDays.end()) {
    co_return ConstraintError("retentionInDays", std::to_string(*days),
                              "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
                              "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]");
  }
  int retention = static_cast<int>(*days);
  Status s = co_await call.Blocking([&] { return call.store.SetRetention(call.account, group, retention); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> DeleteRetentionPolicy(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  Status s = co_await call.Blocking([&] { return call.store.SetRetention(call.account, group, std::nullopt); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

}  // namespace annex::logs
