// CreateLogStream, DeleteLogStream, DescribeLogStreams.

#include <algorithm>
#include <charconv>

#include "services/logs/logs_call.h"

namespace annex::logs {

Task<Answer> CreateLogStream(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string stream, call.params.RequiredString("logStreamName", kLogStreamNameRule));
  Status s = co_await call.Blocking([&] { return call.store.CreateStream(call.account, group, stream); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> DeleteLogStream(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string stream, call.params.RequiredString("logStreamName", kLogStreamNameRule));
  Status s = co_await call.Blocking([&] { return call.store.DeleteStream(call.account, group, stream); });
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  co_return Json::object();
}

Task<Answer> DescribeLogStreams(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, GroupFromNameOrIdentifier(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto prefix, call.params.String("logStreamNamePrefix", kLogStreamNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto order, call.params.String("orderBy"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto descending, call.params.Bool("descending"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto limit, call.params.Long("limit", 1, 50));
  ANNEX_CO_ASSIGN_OR_RETURN(auto token, call.params.String("nextToken", kNextTokenRule));
  bool by_time = false;
  if (order) {
    if (*order != "LogStreamName" && *order != "LastEventTime") {
      co_return ConstraintError("orderBy", *order, "Member must satisfy enum value set: [LogStreamName, LastEventTime]");
    }
    by_time = *order == "LastEventTime";
  }
  if (by_time && prefix) co_return InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
  size_t offset = 0;
  if (token) {
    std::string_view t = *token;
    auto [p, ec] = std::from_chars(t.data() + std::min<size_t>(2, t.size()), t.data() + t.size(), offset);
    if (!t.starts_with("o/") || ec != std::errc() || p != t.data() + t.size()) {
      co_return InvalidParameter("The specified nextToken is invalid.");
    }
  }

  auto streams = call.store.ListStreams(call.account, group, prefix.value_or(""));
  if (!streams.ok()) co_return ToLogsError(streams.status());
  if (by_time) {
    // Streams without events sort first, as their last event time is unset.
    std::stable_sort(streams->begin(), streams->end(), [](const LogStreamInfo& a, const LogStreamInfo& b) {
      return a.last_event_ms.value_or(-1) < b.last_event_ms.value_or(-1);
    });
  }
  if (descending.value_or(false)) std::reverse(streams->begin(), streams->end());

  size_t page = static_cast<size_t>(limit.value_or(50));
  Json list = Json::array();
  std::string arn_prefix = LogGroupArn(call, group) + ":log-stream:";
  for (size_t i = offset; i < streams->size() && i < offset + page; ++i) {
    const LogStreamInfo& s = (*streams)[i];
    Json j = {{"logStreamName", s.name}, {"creationTime", s.creation_ms}, {"arn", arn_prefix + s.name},
              {"storedBytes", s.stored_bytes}};
    if (s.first_event_ms) j["firstEventTimestamp"] = *s.first_event_ms;
    if (s.last_event_ms) j["lastEventTimestamp"] = *s.last_event_ms;
    if (s.last_ingestion_ms) {
      j["lastIngestionTime"] = *s.last_ingestion_ms;
      j["uploadSequenceToken"] = std::to_string(*s.last_ingestion_ms);
    }
    list.push_back(std::move(j));
  }
  Json out = {{"logStreams", std::move(list)}};
  if (offset + page < streams->size()) out["nextToken"] = "o/" + std::to_string(offset + page);
  co_return out;
}

}  // namespace annex::logs
