#include "appliance/logs/pending_chunks.h"

#include <algorithm>

#include "appliance/store/record.h"

namespace annex::logs {

std::string EncodePendingChunk(const PendingChunk& c) {
  store::RecordWriter w(1);
  w.Bytes(c.account).Bytes(c.group).Bytes(c.stream).U64(c.group_id).U64(c.stream_id);
  w.I64(c.first_ms).I64(c.last_ms).U64(c.first_seq).U64(c.count).U64(c.bytes).I64(c.ingestion_ms);
  w.Bytes(c.chunk);
  return w.Finish();
}

Result<PendingChunk> DecodePendingChunk(std::string_view payload) {
  store::RecordReader r(payload);
  PendingChunk c;
  ANNEX_ASSIGN_OR_RETURN(c.account, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.group, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.stream, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.group_id, r.U64());
  ANNEX_ASSIGN_OR_RETURN(c.stream_id, r.U64());
  ANNEX_ASSIGN_OR_RETURN(c.first_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(c.last_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(c.first_seq, r.U64());
  ANNEX_ASSIGN_OR_RETURN(c.count, r.U64());
  ANNEX_ASSIGN_OR_RETURN(c.bytes, r.U64());
  ANNEX_ASSIGN_OR_RETURN(c.ingestion_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(c.chunk, r.Bytes());
  ANNEX_RETURN_IF_ERROR(r.Finish());
  if (c.count == 0) return Status::Corruption("journal record of an empty chunk");
  return c;
}

void AddChunkToRecord(StreamRecord& s, const PendingChunk& c) {
  s.first_ms = s.has_events ? std::min(s.first_ms, c.first_ms) : c.first_ms;
  s.has_events = true;
  s.last_ms = s.ever_appended ? std::max(s.last_ms, c.last_ms) : c.last_ms;
  s.ever_appended = true;
  s.max_span_ms = std::max(s.max_span_ms, c.last_ms - c.first_ms);
  s.last_ingestion_ms = std::max(s.last_ingestion_ms, c.ingestion_ms);
  s.stored_bytes += c.bytes;
  s.next_seq = std::max(s.next_seq, c.first_seq + c.count);
}

void PendingChunks::Add(const std::vector<PendingChunkPtr>& chunks) {
  std::lock_guard lock(mu_);
  for (const auto& c : chunks) {
    order_.push_back(c);
    bytes_ += c->bytes;
  }
  Publish();
}

std::vector<PendingChunkPtr> PendingChunks::All() const {
  std::lock_guard lock(mu_);
  return {order_.begin(), order_.end()};
}

void PendingChunks::RemoveOldest(size_t n) {
  std::lock_guard lock(mu_);
  n = std::min(n, order_.size());
  for (size_t i = 0; i < n; ++i) {
    bytes_ -= order_.front()->bytes;
    order_.pop_front();
  }
  Publish();
}

bool PendingChunks::empty() const {
  std::lock_guard lock(mu_);
  return order_.empty();
}

uint64_t PendingChunks::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::shared_ptr<const PendingChunks::ByStream> PendingChunks::Snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void PendingChunks::Publish() {
  auto next = std::make_shared<ByStream>();
  for (const auto& c : order_) (*next)[c->stream_id].push_back(c);
  snapshot_ = std::move(next);
}

Result<PendingView> PendingView::Make(const PendingChunks::ByStream& snapshot, const store::ReadTxn& txn,
                                      const LogTables& tables) {
  PendingView view;
  for (const auto& [stream_id, chunks] : snapshot) {
    // Chunks of a stream deleted since (its group's too) are gone with it.
    const PendingChunk& any = *chunks.front();
    ANNEX_ASSIGN_OR_RETURN(auto group, LoadGroup(txn, tables, any.account, any.group));
    if (!group || group->id != any.group_id) continue;
    ANNEX_ASSIGN_OR_RETURN(auto stream, LoadStream(txn, tables, any.group_id, any.stream));
    if (!stream || stream->id != stream_id) continue;
    std::vector<PendingChunkPtr> missing;
    for (const auto& c : chunks) {
      ANNEX_ASSIGN_OR_RETURN(auto stored, txn.Get(tables.events, EventKey(c->stream_id, c->first_ms, c->first_seq)));
      if (stored) continue;  // committed after the snapshot was taken
      missing.push_back(c);
      view.group_bytes_[c->group_id] += c->bytes;
    }
    if (missing.empty()) continue;
    std::sort(missing.begin(), missing.end(), [](const PendingChunkPtr& a, const PendingChunkPtr& b) {
      return a->first_ms != b->first_ms ? a->first_ms < b->first_ms : a->first_seq < b->first_seq;
    });
    view.by_stream_.emplace(stream_id, std::move(missing));
  }
  return view;
}

const std::vector<PendingChunkPtr>& PendingView::ForStream(uint64_t stream_id) const {
  static const std::vector<PendingChunkPtr> kNone;
  auto it = by_stream_.find(stream_id);
  return it == by_stream_.end() ? kNone : it->second;
}

StreamRecord PendingView::Merged(const StreamRecord& s) const {
  StreamRecord merged = s;
  for (const auto& c : ForStream(s.id)) AddChunkToRecord(merged, *c);
  return merged;
}

uint64_t PendingView::GroupBytes(uint64_t group_id) const {
  auto it = group_bytes_.find(group_id);
  return it == group_bytes_.end() ? 0 : it->second;
}

}  // namespace annex::logs
