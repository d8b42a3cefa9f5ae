#pragma once
// CheckLogEventsBatch: PutLogEvents' rules for a batch, as CloudWatch Logs
// applies them. A batch that breaks a rule for the whole batch fails
// (InvalidParameterException): more than 10,000 events, more than
// 1,048,576 bytes counting 26 bytes per event besides its message, an empty
// message, events out of chronological order or spanning more than 24 h.
// Events outside the accepted window are not stored but reported
// (rejectedLogEventsInfo): older than 14 days or than the group's
// retention, or more than 2 hours in the future.

#include <cstdint>
#include <optional>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/logs/log_types.h"

namespace annex::logs {

inline constexpr size_t kMaxBatchEvents = 10000;
inline constexpr size_t kMaxBatchBytes = 1048576;
inline constexpr size_t kPerEventOverhead = 26;
inline constexpr int64_t kMaxBatchSpanMs = 24 * 3600 * 1000;
inline constexpr int64_t kMaxAgeMs = 14LL * 24 * 3600 * 1000;
inline constexpr int64_t kMaxAheadMs = 2 * 3600 * 1000;

struct BatchVerdict {
  size_t accept_begin = 0;  // events [accept_begin, accept_end) are stored
  size_t accept_end = 0;
  // Exclusive end indexes of the too-old and expired runs at the start, and
  // the first index of the too-new run at the end, as the API reports them.
  std::optional<size_t> too_old_end;
  std::optional<size_t> expired_end;
  std::optional<size_t> too_new_start;
};

// The rules for the whole batch; checked before the group is looked up.
Status CheckLogEventsBatch(const std::vector<LogEvent>& events);
// Which events of a valid batch are stored, and which are reported.
BatchVerdict SortOutLogEvents(const std::vector<LogEvent>& events, int64_t now_ms, std::optional<int> retention_days);

}  // namespace annex::logs
