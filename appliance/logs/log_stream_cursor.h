#pragma once
// StreamEventCursor: a stream's events in (timestamp, seq) order, forward,
// merging chunks that overlap in time. A chunk whose first event comes
// after every event still pending cannot hold an earlier one, so chunks are
// opened in key order only as far as needed; a seek starts the stream's
// widest chunk span early, so a chunk that began before the target but
// reaches past it is found. Chunks still pending (pending_chunks.h) are
// merged in as if they were stored.

#include <queue>
#include <vector>

#include "appliance/logs/log_chunk.h"
#include "appliance/logs/log_types.h"
#include "appliance/logs/pending_chunks.h"
#include "appliance/store/lmdb_env.h"

namespace annex::logs {

class StreamEventCursor {
 public:
  // `pending`: the stream's pending chunks in key order; `span_ms` covers them too.
  StreamEventCursor(store::Cursor cursor, uint64_t stream_id, int64_t span_ms,
                    std::vector<PendingChunkPtr> pending = {});
  StreamEventCursor(StreamEventCursor&&) noexcept = default;

  // Positions at the first event at or after `from`.
  Status Seek(StreamPosition from);
  bool Valid() const { return !heap_.empty(); }
  const ChunkEvent& event() const;
  int64_t ingestion_ms() const;
  Status Next();

 private:
  struct Head {
    int64_t timestamp_ms;
    uint64_t seq;
    size_t slot;
  };
  struct Later {
    bool operator()(const Head& a, const Head& b) const {
      return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms > b.timestamp_ms : a.seq > b.seq;
    }
  };
  struct Open {
    DecodedChunk chunk;
    size_t next = 0;
  };
  // Opens chunks while the next one could start before the earliest pending event.
  Status Fill();
  void Push(size_t slot);

  // Opens the next chunk in key order from LMDB or the pending ones; false when neither has one.
  Result<bool> OpenNextChunk(const std::string& prefix);

  store::Cursor cursor_;
  std::vector<PendingChunkPtr> pending_;
  size_t pending_next_ = 0;
  uint64_t stream_id_;
  int64_t span_ms_;
  StreamPosition from_;
  bool more_chunks_ = false;
  std::vector<Open> slots_;
  std::vector<size_t> free_slots_;
  std::priority_queue<Head, std::vector<Head>, Later> heap_;
};

}  // namespace annex::logs
