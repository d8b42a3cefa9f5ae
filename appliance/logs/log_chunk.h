#pragma once
// A chunk: the events of one append to one stream, stored as one LMDB value
// under the key of its first event (stream id, timestamp, seq). One value
// per batch instead of one per event is what lets an append cost about the
// bytes of its messages and one B-tree insert (docs/performance.md).
//
//   varint ingestion_ms, varint count, varint message bytes,
//   then per event: zigzag varint timestamp delta, varint length, message
//
// Events are sorted by timestamp (stable); the i-th has seq key.seq + i.
// Chunks of one stream may overlap in time (a batch with older timestamps
// than the last); readers merge them (StreamEventCursor).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/logs/log_types.h"

namespace annex::logs {

struct ChunkEvent {
  int64_t timestamp_ms = 0;
  uint64_t seq = 0;
  std::string_view message;  // into the chunk's bytes
};

struct DecodedChunk {
  int64_t ingestion_ms = 0;
  uint64_t bytes = 0;  // message bytes
  std::vector<ChunkEvent> events;
};

// `events` must be sorted by timestamp.
std::string EncodeChunk(int64_t ingestion_ms, const std::vector<const LogEvent*>& events);
// Decodes a chunk stored under (first_ms, first_seq); views point into `data`.
Result<DecodedChunk> DecodeChunk(std::string_view data, int64_t first_ms, uint64_t first_seq);
// Just the header: event count and message bytes.
Status ChunkTotals(std::string_view data, uint64_t& count, uint64_t& bytes);

}  // namespace annex::logs
