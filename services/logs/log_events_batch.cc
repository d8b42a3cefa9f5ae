#include "services/logs/log_events_batch.h"

#include <algorithm>

#include "services/logs/logs_params.h"

namespace annex::logs {

Status CheckLogEventsBatch(const std::vector<LogEvent>& events) {
  if (events.empty()) {
    return ConstraintError("logEvents", "[]", "Member must have length greater than or equal to 1");
  }
  if (events.size() > kMaxBatchEvents) {
    return ConstraintError("logEvents", "[...]", "Member must have length less than or equal to 10000");
  }
  size_t bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].message.empty()) {
      return ConstraintError("logEvents." + std::to_string(i + 1) + ".member.message", "",
                             "Member must have length greater than or equal to 1");
    }
    bytes += events[i].message.size() + kPerEventOverhead;
  }
  if (bytes > kMaxBatchBytes) {
    return InvalidParameter("Upload too large: " + std::to_string(bytes) + " bytes exceeds limit of " +
                            std::to_string(kMaxBatchBytes));
  }
  for (size_t i = 1; i < events.size(); ++i) {
    if (events[i].timestamp_ms < events[i - 1].timestamp_ms) {
      return InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.");
    }
  }
  if (events.back().timestamp_ms - events.front().timestamp_ms > kMaxBatchSpanMs) {
    return InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
  }
  return Status::OK();
}

BatchVerdict SortOutLogEvents(const std::vector<LogEvent>& events, int64_t now_ms, std::optional<int> retention_days) {
  BatchVerdict v;
  auto count_before = [&](int64_t limit) {
    return static_cast<size_t>(std::lower_bound(events.begin(), events.end(), limit,
                                                [](const LogEvent& e, int64_t t) { return e.timestamp_ms < t; }) -
                               events.begin());
  };
  size_t too_old = count_before(now_ms - kMaxAgeMs);
  if (too_old > 0) v.too_old_end = too_old;
  size_t expired = 0;
  if (retention_days && *retention_days > 0) {
    expired = count_before(now_ms - int64_t{*retention_days} * 24 * 3600 * 1000);
    if (expired > 0) v.expired_end = expired;
  }
  size_t too_new = static_cast<size_t>(
      std::upper_bound(events.begin(), events.end(), now_ms + kMaxAheadMs,
                       [](int64_t t, const LogEvent& e) { return t < e.timestamp_ms; }) -
      events.begin());
  if (too_new < events.size()) v.too_new_start = too_new;
  v.accept_begin = std::max(too_old, expired);
  v.accept_end = std::max(v.accept_begin, too_new);
  return v;
}

}  // namespace annex::logs
