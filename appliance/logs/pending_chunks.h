#pragma once
// Appends that are durable in the journal (log_journal.h) but not yet in
// LMDB, and what readers make of them.
//
// PendingChunk is one append: the chunk as LMDB will store it, the names and
// ids it was resolved to, and its place in the journal. PendingChunks holds
// them between the journal flush and the LMDB commit, so a reader sees an
// acknowledged append at once. Readers take a Snapshot before they open
// their LMDB transaction: a chunk leaves the set only after its commit, so
// a reader finds every chunk in one place or the other, possibly in both —
// PendingView drops the ones its transaction already has.

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/logs/log_records.h"

namespace annex::logs {

struct PendingChunk {
  std::string account, group, stream;
  uint64_t group_id = 0, stream_id = 0;
  int64_t first_ms = 0, last_ms = 0;
  uint64_t first_seq = 0, count = 0;
  uint64_t bytes = 0;  // message bytes
  int64_t ingestion_ms = 0;
  std::string chunk;  // log_chunk.h
  // Where it ends in the journal (not part of the journal record).
  uint64_t journal_generation = 0, journal_end = 0;
};

using PendingChunkPtr = std::shared_ptr<const PendingChunk>;

// The journal record of a chunk, and back.
std::string EncodePendingChunk(const PendingChunk& c);
Result<PendingChunk> DecodePendingChunk(std::string_view payload);

// What an applied chunk changes in its stream's record.
void AddChunkToRecord(StreamRecord& s, const PendingChunk& c);

class PendingChunks {
 public:
  using ByStream = std::unordered_map<uint64_t, std::vector<PendingChunkPtr>>;

  // Chunks just made durable, in journal order.
  void Add(const std::vector<PendingChunkPtr>& chunks);
  // Every chunk, oldest first: what the next LMDB commit applies.
  std::vector<PendingChunkPtr> All() const;
  // Drops the oldest `n` chunks, once they are committed to LMDB.
  void RemoveOldest(size_t n);
  bool empty() const;
  uint64_t bytes() const;  // message bytes
  // The chunks of every stream at this moment; immutable, cheap to take.
  std::shared_ptr<const ByStream> Snapshot() const;

 private:
  void Publish();  // rebuilds the snapshot; mu_ held

  mutable std::mutex mu_;
  std::deque<PendingChunkPtr> order_;
  uint64_t bytes_ = 0;
  std::shared_ptr<const ByStream> snapshot_ = std::make_shared<const ByStream>();
};

// A reader's view of the pending chunks: those its transaction lacks.
class PendingView {
 public:
  PendingView() = default;
  static Result<PendingView> Make(const PendingChunks::ByStream& snapshot, const store::ReadTxn& txn,
                                  const LogTables& tables);

  // The stream's pending chunks, ordered by (first_ms, first_seq).
  const std::vector<PendingChunkPtr>& ForStream(uint64_t stream_id) const;
  // The record with the pending chunks counted in.
  StreamRecord Merged(const StreamRecord& s) const;
  // Message bytes pending for the group.
  uint64_t GroupBytes(uint64_t group_id) const;

 private:
  PendingChunks::ByStream by_stream_;
  std::unordered_map<uint64_t, uint64_t> group_bytes_;
};

}  // namespace annex::logs
