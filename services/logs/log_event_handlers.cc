// PutLogEvents, GetLogEvents, FilterLogEvents.

#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "appliance/logs/filter_pattern.h"
#include "services/logs/log_events_batch.h"
#include "services/logs/log_tokens.h"
#include "services/logs/logs_call.h"

namespace annex::logs {
namespace {

// Appends without holding an io thread: the store's commit thread reports
// back, and the coroutine resumes on its own executor.
Task<Status> AppendDurably(LogStore& store, std::string account, std::string group, std::string stream,
                           std::vector<LogEvent> events) {
  auto initiate = [&](auto handler) {
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    store.AppendAsync(std::move(account), std::move(group), std::move(stream), std::move(events),
                      /*create_missing=*/false, [ex, shared](Status s) {
                        boost::asio::post(ex, [shared, s = std::move(s)]() mutable { (*shared)(std::move(s)); });
                      });
  };
  co_return co_await boost::asio::async_initiate<decltype(use_task), void(Status)>(initiate, use_task);
}

Status CheckTimestamp(int64_t t) {
  if (t < 0) {
    return ConstraintError("logEvents.member.timestamp", std::to_string(t),
                           "Member must have value greater than or equal to 0");
  }
  return Status::OK();
}

Result<std::vector<LogEvent>> ParseEvents(LogsParams& params) {
  if (auto decoded = params.TakeLogEvents()) {
    if (decoded->size() > kMaxBatchEvents) {
      return ConstraintError("logEvents", "[...]", "Member must have length less than or equal to 10000");
    }
    for (const LogEvent& e : *decoded) ANNEX_RETURN_IF_ERROR(CheckTimestamp(e.timestamp_ms));
    return std::move(*decoded);
  }
  const Json* list = params.Member("logEvents");
  if (!list) {
    return InvalidParameter(
        "1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: Member must not be null");
  }
  if (!list->is_array()) return SerializationError("Member 'logEvents' must be an array");
  if (list->size() > kMaxBatchEvents) {
    return ConstraintError("logEvents", "[...]", "Member must have length less than or equal to 10000");
  }
  std::vector<LogEvent> events;
  events.reserve(list->size());
  for (const Json& item : *list) {
    if (!item.is_object()) return SerializationError("Each member of 'logEvents' must be an object");
    auto ts = item.find("timestamp");
    auto msg = item.find("message");
    if (ts == item.end() || msg == item.end() || ts->is_null() || msg->is_null()) {
      return InvalidParameter("1 validation error detected: Value null at 'logEvents.member.timestamp' or "
                              "'logEvents.member.message' failed to satisfy constraint: Member must not be null");
    }
    if (!ts->is_number_integer()) return SerializationError("Member 'timestamp' of a log event must be an integer");
    if (!msg->is_string()) return SerializationError("Member 'message' of a log event must be a string");
    if (ts->is_number_unsigned() && ts->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return SerializationError("Member 'timestamp' of a log event is out of range");
    }
    int64_t t = ts->get<int64_t>();
    ANNEX_RETURN_IF_ERROR(CheckTimestamp(t));
    events.push_back(LogEvent{t, msg->get<std::string>()});
  }
  return events;
}

}  // namespace

Task<Answer> PutLogEvents(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, call.params.RequiredString("logGroupName", kLogGroupNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string stream, call.params.RequiredString("logStreamName", kLogStreamNameRule));
  // Accepted and ignored, as CloudWatch does since 2023.
  ANNEX_CO_ASSIGN_OR_RETURN(auto sequence_token, call.params.String("sequenceToken"));
  (void)sequence_token;
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<LogEvent> events, ParseEvents(call.params));
  ANNEX_CO_RETURN_IF_ERROR(CheckLogEventsBatch(events));
  auto info = call.store.GetGroup(call.account, group);
  if (!info.ok()) co_return ToLogsError(info.status());
  BatchVerdict verdict = SortOutLogEvents(events, call.now_ms, info->retention_days);

  std::vector<LogEvent> accepted(std::make_move_iterator(events.begin() + verdict.accept_begin),
                                 std::make_move_iterator(events.begin() + verdict.accept_end));
  size_t bytes = 0;
  for (const auto& e : accepted) bytes += e.message.size();
  // Even an empty remainder goes through the store: a missing stream is still an error.
  Status s = co_await AppendDurably(call.store, call.account, group, stream, std::move(accepted));
  ANNEX_CO_RETURN_IF_ERROR(ToLogsError(std::move(s)));
  call.ctx.bytes_in = bytes;

  Json out = {{"nextSequenceToken", std::to_string(call.now_ms)}};
  if (verdict.too_old_end || verdict.expired_end || verdict.too_new_start) {
    Json rejected = Json::object();
    if (verdict.too_new_start) rejected["tooNewLogEventStartIndex"] = *verdict.too_new_start;
    if (verdict.too_old_end) rejected["tooOldLogEventEndIndex"] = *verdict.too_old_end;
    if (verdict.expired_end) rejected["expiredLogEventEndIndex"] = *verdict.expired_end;
    out["rejectedLogEventsInfo"] = std::move(rejected);
  }
  co_return out;
}

Task<Answer> GetLogEvents(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, GroupFromNameOrIdentifier(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string stream, call.params.RequiredString("logStreamName", kLogStreamNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto start, call.params.Long("startTime", 0));
  ANNEX_CO_ASSIGN_OR_RETURN(auto end, call.params.Long("endTime", 0));
  ANNEX_CO_ASSIGN_OR_RETURN(auto token_text, call.params.String("nextToken", kNextTokenRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto limit, call.params.Long("limit", 1, 10000));
  ANNEX_CO_ASSIGN_OR_RETURN(auto from_head, call.params.Bool("startFromHead"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto unmask, call.params.Bool("unmask"));
  (void)unmask;  // nothing is masked: there are no data protection policies
  std::optional<StreamToken> token;
  if (token_text) {
    ANNEX_CO_ASSIGN_OR_RETURN(token, DecodeStreamToken(*token_text));
  }

  StreamRead read;
  read.start_ms = start;
  read.end_ms = end;
  read.limit = static_cast<size_t>(limit.value_or(10000));
  read.forward = token ? token->forward : from_head.value_or(false);
  if (token && token->forward) read.after = token->position;
  if (token && !token->forward) read.before = token->position;
  auto events = co_await call.Blocking([&] { return call.store.ReadStream(call.account, group, stream, read); });
  if (!events.ok()) co_return ToLogsError(events.status());

  Json list = Json::array();
  for (const StoredEvent& e : *events) {
    list.push_back({{"timestamp", e.timestamp_ms}, {"message", e.message}, {"ingestionTime", e.ingestion_ms}});
  }
  // At either end the token that was passed comes back, so a client polling
  // forward sees the same token until new events arrive.
  StreamToken forward{true, {}}, backward{false, {}};
  if (!events->empty()) {
    forward.position = events->back().position;
    backward.position = events->front().position;
  } else if (token) {
    forward.position = backward.position = token->position;
    if (token->forward) {
      backward.position.seq += backward.position.seq == UINT64_MAX ? 0 : 1;  // before: includes the position's own
    } else if (forward.position.seq > 0) {
      forward.position.seq -= 1;
    } else {
      forward.position = {forward.position.timestamp_ms - 1, UINT64_MAX};
    }
  } else {
    int64_t edge = read.forward ? start.value_or(0) : end.value_or(INT64_MAX);
    forward.position = {edge - 1, UINT64_MAX};
    backward.position = {edge, 0};
  }
  Json out = {{"events", std::move(list)}};
  out["nextForwardToken"] = token && token->forward && events->empty() ? *token_text : EncodeStreamToken(forward);
  out["nextBackwardToken"] = token && !token->forward && events->empty() ? *token_text : EncodeStreamToken(backward);
  co_return out;
}

Task<Answer> FilterLogEvents(LogsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string group, GroupFromNameOrIdentifier(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto names, call.params.StringList("logStreamNames", 1, 100, kLogStreamNameRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto prefix, call.params.String("logStreamNamePrefix", kLogStreamNameRule));
  if (names && prefix) {
    co_return InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(auto start, call.params.Long("startTime", 0));
  ANNEX_CO_ASSIGN_OR_RETURN(auto end, call.params.Long("endTime", 0));
  ANNEX_CO_ASSIGN_OR_RETURN(auto pattern_text, call.params.String("filterPattern", {0, 1024, nullptr, ""}));
  ANNEX_CO_ASSIGN_OR_RETURN(auto token_text, call.params.String("nextToken", kNextTokenRule));
  ANNEX_CO_ASSIGN_OR_RETURN(auto limit, call.params.Long("limit", 1, 10000));
  ANNEX_CO_ASSIGN_OR_RETURN(auto interleaved, call.params.Bool("interleaved"));
  (void)interleaved;  // results are always interleaved
  ANNEX_CO_ASSIGN_OR_RETURN(auto unmask, call.params.Bool("unmask"));
  (void)unmask;  // nothing is masked: there are no data protection policies
  auto pattern = FilterPattern::Parse(pattern_text.value_or(""));
  if (!pattern.ok()) co_return InvalidParameter(pattern.status().message());

  GroupRead read;
  if (names) read.stream_names = std::move(*names);
  read.stream_prefix = prefix.value_or("");
  read.start_ms = start;
  if (end && *end < INT64_MAX) read.end_ms = *end + 1;  // FilterLogEvents' endTime is inclusive
  read.limit = static_cast<size_t>(limit.value_or(10000));
  if (token_text) {
    ANNEX_CO_ASSIGN_OR_RETURN(GroupPosition after, DecodeGroupToken(*token_text));
    read.after = after;
  }
  if (!pattern->matches_everything()) {
    read.match = [p = &*pattern](std::string_view m) { return p->Matches(m); };
  }
  auto result = co_await call.Blocking([&] { return call.store.ReadGroup(call.account, group, read); });
  if (!result.ok()) co_return ToLogsError(result.status());

  Json events = Json::array();
  for (const StoredEvent& e : result->events) {
    events.push_back({{"logStreamName", e.stream},
                      {"timestamp", e.timestamp_ms},
                      {"message", e.message},
                      {"ingestionTime", e.ingestion_ms},
                      {"eventId", e.event_id}});
  }
  Json searched = Json::array();
  for (const auto& name : result->searched_streams) {
    searched.push_back({{"logStreamName", name}, {"searchedCompletely", !result->resume.has_value()}});
  }
  Json out = {{"events", std::move(events)}, {"searchedLogStreams", std::move(searched)}};
  if (result->resume) out["nextToken"] = EncodeGroupToken(*result->resume);
  co_return out;
}

}  // namespace annex::logs
