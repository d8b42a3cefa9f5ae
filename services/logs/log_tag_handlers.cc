// TagLogGroup, UntagLogGroup, ListTagsLogGroup (by name) and TagResource,
// UntagResource, ListTagsForResource (by ARN).

#include "appliance/http/api_error.h"
#include "services/logs/logs_call.h"

namespace annex::logs {
namespace {

Json TagsJson(const Tags& tags) {
  Json out = Json::object();
  for (const auto& [k, v] : tags) out[k] = v;
  return out;
}

// The log group an ARN of this account and region names; another account's
// or region's ARN names nothing the caller can see.
Result<std::string> GroupFromArn(const LogsCall& call) {
  ANNEX_ASSIGN_OR_RETURN(std::string arn, call.params.RequiredString("resourceArn", kArnRule));
  std::string prefix = "arn:aws:logs:" + call.ctx.region + ":" + call.account + ":log-group:";
  if (!arn.starts_with("arn:aws:logs:")) return InvalidParameter("Invalid resource ARN: " + arn);
  if (!arn.starts_with(prefix)) return http::ApiStatus("ResourceNotFoundException", "The specified resource does not exist.");
  std::string group = arn.substr(prefix.size());
  if (group.ends_with(":*")) group.resize(group.size() - 2);
  if (group.empty() || group.size() > 512 || !kLogGroupNameRule.valid(group)) {
    return InvalidParameter("Invalid resource ARN: " + arn);
  }
  return group;
}

Task<Answer> Tag(LogsCall& call, const std::string& group, const Tags& tags) {
  Status s = co_await call.Blocking([&] { return call.store.TagGroup(call.account, group, tags); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> Untag(LogsCall& call, const std::string& group, const std::vector<std::string>& keys) {
  Status s = co_await call.Blocking([&] { return call.store.UntagGroup(call.account, group, keys); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> List(LogsCall& call, const std::string& group) {
  auto info = call.store.GetGroup(call.account, group);
  if (!info.ok()) co_return ToLogsError(info.status());
  co_return Json{{"tags", TagsJson(info->tags)}};
}

// The tags a group would have with `tags` added: at most 50.
Status CheckTotal(LogsCall& call, const std::string& group, const Tags& tags, std::string_view code) {
  auto info = call.store.GetGroup(call.account, group);
  if (!info.ok()) return ToLogsError(info.status());
  Tags merged = info->tags;
  for (const auto& [k, v] : tags) merged[k] = v;
  if (merged.size() > 50) return http::ApiStatus(code, "A resource can have no more than 50 tags.");
  return Status::OK();
}

}  // namespace

Task<Answer> TagLogGroup(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto tags, call.params.StringMap("tags"));
  if (!tags) co_return InvalidParameter("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
  ANNEX_CO_RETURN_IF_ERROR(CheckTagMap(*tags));
  ANNEX_CO_RETURN_IF_ERROR(CheckTotal(call, group, *tags, "InvalidParameterException"));
  co_return co_await Tag(call, group, *tags);
}

Task<Answer> UntagLogGroup(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto keys, call.params.StringList("tags", 1, 50, {1, 128, nullptr, ""}));
  if (!keys) co_return InvalidParameter("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
  co_return co_await Untag(call, group, *keys);
}

Task<Answer> ListTagsLogGroup(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  co_return co_await List(call, group);
}

Task<Answer> TagResource(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, GroupFromArn(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto tags, call.params.StringMap("tags"));
  if (!tags) co_return InvalidParameter("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
  if (tags->size() > 50) co_return http::ApiStatus("TooManyTagsException", "A resource can have no more than 50 tags.");
  ANNEX_CO_RETURN_IF_ERROR(CheckTagMap(*tags));
  ANNEX_CO_RETURN_IF_ERROR(CheckTotal(call, group, *tags, "TooManyTagsException"));
  co_return co_await Tag(call, group, *tags);
}

Task<Answer> UntagResource(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, GroupFromArn(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto keys, call.params.StringList("tagKeys", 0, 50, {1, 128, nullptr, ""}));
  if (!keys) co_return InvalidParameter("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
  co_return co_await Untag(call, group, *keys);
}

Task<Answer> ListTagsForResource(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, GroupFromArn(call));
  co_return co_await List(call, group);
}

}  // namespace annex::logs
