#include "appliance/logs/log_stream_cursor.h"

#include <climits>

#include "appliance/logs/log_records.h"

namespace annex::logs {

StreamEventCursor::StreamEventCursor(store::Cursor cursor, uint64_t stream_id, int64_t span_ms)
    : cursor_(std::move(cursor)), stream_id_(stream_id), span_ms_(span_ms) {}

Status StreamEventCursor::Seek(StreamPosition from) {
  from_ = from;
  heap_ = {};
  slots_.clear();
  free_slots_.clear();
  int64_t start = from.timestamp_ms < INT64_MIN + span_ms_ ? INT64_MIN : from.timestamp_ms - span_ms_;
  ANNEX_RETURN_IF_ERROR(cursor_.Seek(EventKey(stream_id_, start, 0)));
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
    if (!cursor_.Valid() || !cursor_.key().starts_with(prefix)) {
      more_chunks_ = false;
      break;
    }
    ANNEX_ASSIGN_OR_RETURN(EventKeyParts k, ParseEventKey(cursor_.key()));
    if (!heap_.empty()) {
      const Head& top = heap_.top();
      bool earlier = k.timestamp_ms != top.timestamp_ms ? k.timestamp_ms < top.timestamp_ms : k.seq < top.seq;
      if (!earlier) break;
    }
    ANNEX_ASSIGN_OR_RETURN(DecodedChunk chunk, DecodeChunk(cursor_.value(), k.timestamp_ms, k.seq));
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
    ANNEX_RETURN_IF_ERROR(cursor_.Next());
  }
  return Status::OK();
}

Status StreamEventCursor::Next() {
  size_t slot = heap_.top().slot;
  heap_.pop();
  ++slots_[slot].next;
  Push(slot);
  return Fill();
}

}  // namespace annex::logs
