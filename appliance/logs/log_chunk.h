#pragma once
// A chunk: the events of one append to one stream, stored as one LMDB value
// under the key of its first event (stream id, timestamp, seq). One value
// per batch instead of one per event is what lets an append cost about the
// bytes of its messages and one B-tree insert (docs/performance.md).
//
//   0x00, format (1: plain, 2: zstd),
//   varint ingestion_ms, varint count, varint message bytes, varint body bytes,
//   body — plain or one zstd frame: per event a zigzag varint timestamp
//   delta, a varint length and the message
//
// Log lines compress several times over, so a body worth compressing is
// written (to the journal and to LMDB) and read back in a fraction of its
// bytes. The header stays plain: totals need no decompression. A chunk
// without the 0x00 prefix is the first layout (header then plain body, no
// body size), still read: it began with a non-zero ingestion time.
//
// Events are sorted by timestamp (stable); the i-th has seq key.seq + i.
// Chunks of one stream may overlap in time (a batch with older timestamps
// than the last); readers merge them (StreamEventCursor).

#include <cstdint>
#include <memory>
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
  // The decompressed body when the chunk was compressed; null when the views
  // point into the bytes given to DecodeChunk.
  std::shared_ptr<const std::string> storage;
};

// `events` must be sorted by timestamp.
std::string EncodeChunk(int64_t ingestion_ms, const std::vector<const LogEvent*>& events);
// Decodes a chunk stored under (first_ms, first_seq); views point into
// `data` or into the chunk's own storage.
Result<DecodedChunk> DecodeChunk(std::string_view data, int64_t first_ms, uint64_t first_seq);
// Just the header: event count and message bytes.
Status ChunkTotals(std::string_view data, uint64_t& count, uint64_t& bytes);

}  // namespace annex::logs
