#pragma once
// The values the log store takes and gives: events, groups, streams, and
// positions in a stream. Times are milliseconds since the Unix epoch, as
// CloudWatch Logs counts them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace annex::logs {

// One line to store: when it happened (the writer's clock) and what it says.
struct LogEvent {
  int64_t timestamp_ms = 0;
  std::string message;
};

// Where an event sits in its stream: events are ordered by timestamp, then by
// the order they were stored in (seq), so equal timestamps keep their order.
struct StreamPosition {
  int64_t timestamp_ms = 0;
  uint64_t seq = 0;
  friend bool operator==(const StreamPosition&, const StreamPosition&) = default;
};

// An event as read back.
struct StoredEvent {
  int64_t timestamp_ms = 0;
  int64_t ingestion_ms = 0;  // when the store accepted it (the store's clock)
  std::string message;
  StreamPosition position;
  std::string stream;     // filled by group-wide reads
  std::string event_id;   // unique in the store, stable: (timestamp, stream, seq) as digits
};

using Tags = std::map<std::string, std::string>;

struct LogGroupInfo {
  std::string name;
  int64_t creation_ms = 0;
  std::optional<int> retention_days;  // none: kept until the size bound evicts them
  uint64_t stored_bytes = 0;          // message bytes of its events
  Tags tags;
};

struct LogStreamInfo {
  std::string name;
  int64_t creation_ms = 0;
  std::optional<int64_t> first_event_ms;  // of the events still stored
  std::optional<int64_t> last_event_ms;   // the latest ever appended
  std::optional<int64_t> last_ingestion_ms;
  uint64_t stored_bytes = 0;
};

}  // namespace annex::logs
