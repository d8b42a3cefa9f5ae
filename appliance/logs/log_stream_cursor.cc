#include "appliance/logs/log_stream_cursor.h"

#include <algorithm>
#include <climits>
#include <optional>

#include "appliance/logs/log_records.h"

namespace annex::logs {

StreamEventCursor::StreamEventCursor(store::Cursor cursor, uint64_t stream_id, int64_t span_ms,
                                     std::vector<PendingChunkPtr> pending)
    : cursor_(std::move(cursor)), pending_(std::move(pending)), stream_id_(stream_id), span_ms_(span_ms) {}

Status StreamEventCursor::Seek(StreamPosition from) {
  from_ = from;
  heap_ = {};
  slots_.clear();
  free_slots_.clear();
  int64_t start = from.timestamp_ms < INT64_MIN + span_ms_ ? INT64_MIN : from.timestamp_ms - span_ms_;
  ANNEX_RETURN_IF_ERROR(cursor_.Seek(EventKey(stream_id_, start, 0)));
  pending_next_ = static_cast<size_t>(
      std::lower_bound(pending_.begin(), pending_.end(), start,
                       [](const PendingChunkPtr& c, int64_t t) { return c->first_ms < t; }) -
      pending_.begin());
  more_chunks_ = true;
  return Fill();
}

const ChunkEvent& StreamEventCursor::event() const {
  const Head& h = heap_.top();
  const Open& o = slots_[h.slot];
  return o.chunk.events[o.next];
}

int64_t StreamEventCursor::ingestion_ms() const { return slots_[heap_.top().slot].chunk.ingestion_ms; }

void StreamEventCursor::Push(size_t slot) {
  Open& o = slots_[slot];
  // Events before the seek target are never shown.
  while (o.next < o.chunk.events.size()) {
    const ChunkEvent& e = o.chunk.events[o.next];
    if (e.timestamp_ms > from_.timestamp_ms || (e.timestamp_ms == from_.timestamp_ms && e.seq >= from_.seq)) break;
    ++o.next;
  }
  if (o.next < o.chunk.events.size()) {
    heap_.push(Head{o.chunk.events[o.next].timestamp_ms, o.chunk.events[o.next].seq, slot});
  } else {
    o.chunk = {};
    free_slots_.push_back(slot);
  }
}

Status StreamEventCursor::Fill() {
  std::string prefix = EventKeyPrefix(stream_id_);
  while (more_chunks_) {
    ANNEX_ASSIGN_OR_RETURN(bool opened, OpenNextChunk(prefix));
    if (!opened) break;
  }
  return Status::OK();
}

Result<bool> StreamEventCursor::OpenNextChunk(const std::string& prefix) {
  std::optional<EventKeyParts> stored;
  if (cursor_.Valid() && cursor_.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(stored, ParseEventKey(cursor_.key()));
  }
  const PendingChunk* pending = pending_next_ < pending_.size() ? pending_[pending_next_].get() : nullptr;
  if (!stored && !pending) {
    more_chunks_ = false;
    return false;
  }
  auto before = [](int64_t t1, uint64_t s1, int64_t t2, uint64_t s2) { return t1 != t2 ? t1 < t2 : s1 < s2; };
  bool take_pending = pending && (!stored || before(pending->first_ms, pending->first_seq, stored->timestamp_ms,
                                                    stored->seq));
  int64_t first_ms = take_pending ? pending->first_ms : stored->timestamp_ms;
  uint64_t first_seq = take_pending ? pending->first_seq : stored->seq;
  if (!heap_.empty()) {
    const Head& top = heap_.top();
    if (!before(first_ms, first_seq, top.timestamp_ms, top.seq)) return false;
  }
  DecodedChunk chunk;
  if (take_pending) {
    ANNEX_ASSIGN_OR_RETURN(chunk, DecodeChunk(pending->chunk, first_ms, first_seq));
    ++pending_next_;
  } else {
    ANNEX_ASSIGN_OR_RETURN(chunk, DecodeChunk(cursor_.value(), first_ms, first_seq));
  }
  size_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = Open{std::move(chunk), 0};
  } else {
    slot = slots_.size();
    slots_.push_back(Open{std::move(chunk), 0});
  }
  Push(slot);
  if (!take_pending) ANNEX_RETURN_IF_ERROR(cursor_.Next());
  return true;
}

Status StreamEventCursor::Next() {
  size_t slot = heap_.top().slot;
  heap_.pop();
  ++slots_[slot].next;
  Push(slot);
  return Fill();
}

}  // namespace annex::logs
