// LogStore's reads: one stream by time, and a group's streams merged.

#include <algorithm>
#include <climits>
#include <cstdio>
#include <queue>

#include "appliance/logs/log_chunk.h"
#include "appliance/logs/log_records.h"
#include "appliance/logs/log_store.h"
#include "appliance/logs/log_store_view.h"
#include "appliance/logs/log_stream_cursor.h"
#include "appliance/store/lmdb_env.h"

namespace annex::logs {
namespace {

std::string EventId(int64_t timestamp_ms, uint64_t stream_id, uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020llu%020llu%020llu",
                static_cast<unsigned long long>(static_cast<uint64_t>(timestamp_ms) ^ (uint64_t{1} << 63)),
                static_cast<unsigned long long>(stream_id), static_cast<unsigned long long>(seq));
  return buf;
}

StoredEvent MakeEvent(const ChunkEvent& e, int64_t ingestion_ms, uint64_t stream_id) {
  StoredEvent out;
  out.timestamp_ms = e.timestamp_ms;
  out.ingestion_ms = ingestion_ms;
  out.message = std::string(e.message);
  out.position = {e.timestamp_ms, e.seq};
  out.event_id = EventId(e.timestamp_ms, stream_id, e.seq);
  return out;
}

bool Before(const GroupPosition& a, const GroupPosition& b) {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms < b.timestamp_ms;
  if (a.stream_id != b.stream_id) return a.stream_id < b.stream_id;
  return a.seq < b.seq;
}

bool PositionBefore(const StreamPosition& a, const StreamPosition& b) {
  return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms : a.seq < b.seq;
}

// The first position after `p`.
StreamPosition After(const StreamPosition& p) {
  if (p.seq != UINT64_MAX) return {p.timestamp_ms, p.seq + 1};
  return {p.timestamp_ms == INT64_MAX ? INT64_MAX : p.timestamp_ms + 1, 0};
}

// The newest events before `upper` (and at or after `start_ms`): chunks are
// walked from the newest key back until none further back can hold one of
// the `limit` newest found so far.
Result<std::vector<StoredEvent>> ReadBackward(const store::ReadTxn& txn, const LogTables& t, const StreamRecord& s,
                                              const std::vector<PendingChunkPtr>& pending, const StreamRead& read) {
  StreamPosition upper{INT64_MAX, UINT64_MAX};
  if (read.end_ms) upper = {*read.end_ms, 0};
  if (read.before && PositionBefore(*read.before, upper)) upper = *read.before;
  int64_t start = read.start_ms.value_or(INT64_MIN);
  std::string prefix = EventKeyPrefix(s.id);
  std::string below = upper.timestamp_ms == INT64_MAX && upper.seq == UINT64_MAX
                          ? EventKeyPrefix(s.id + 1)
                          : EventKey(s.id, upper.timestamp_ms, upper.seq);
  struct Found {
    ChunkEvent event;
    int64_t ingestion_ms;
  };
  std::vector<Found> found;
  // Pending chunks are the latest appends, and few: taken whole.
  for (const PendingChunkPtr& p : pending) {
    ANNEX_ASSIGN_OR_RETURN(DecodedChunk chunk, DecodeChunk(p->chunk, p->first_ms, p->first_seq));
    for (const ChunkEvent& e : chunk.events) {
      if (e.timestamp_ms < start || !PositionBefore({e.timestamp_ms, e.seq}, upper)) continue;
      found.push_back(Found{e, chunk.ingestion_ms});
    }
  }
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.events));
  Status scan = c.SeekBefore(below);
  for (; scan.ok() && c.Valid() && c.key().starts_with(prefix) && c.key() < std::string_view(below); scan = c.Prev()) {
    ANNEX_ASSIGN_OR_RETURN(EventKeyParts k, ParseEventKey(c.key()));
    int64_t reach = k.timestamp_ms > INT64_MAX - s.max_span_ms ? INT64_MAX : k.timestamp_ms + s.max_span_ms;
    if (reach < start) break;
    if (found.size() >= read.limit) {
      // The limit-th newest found: a chunk ending before it adds nothing.
      std::nth_element(found.begin(), found.begin() + static_cast<long>(read.limit - 1), found.end(),
                       [](const Found& a, const Found& b) {
                         return PositionBefore({b.event.timestamp_ms, b.event.seq}, {a.event.timestamp_ms, a.event.seq});
                       });
      found.resize(read.limit);
      const ChunkEvent& oldest_kept = found.back().event;
      if (reach < oldest_kept.timestamp_ms) break;
    }
    ANNEX_ASSIGN_OR_RETURN(DecodedChunk chunk, DecodeChunk(c.value(), k.timestamp_ms, k.seq));
    for (const ChunkEvent& e : chunk.events) {
      if (e.timestamp_ms < start || !PositionBefore({e.timestamp_ms, e.seq}, upper)) continue;
      found.push_back(Found{e, chunk.ingestion_ms});
    }
  }
  ANNEX_RETURN_IF_ERROR(scan);
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return PositionBefore({b.event.timestamp_ms, b.event.seq}, {a.event.timestamp_ms, a.event.seq});
  });  // newest first
  std::vector<StoredEvent> out;
  size_t bytes = 0;
  for (const Found& f : found) {
    if (out.size() >= read.limit || (!out.empty() && bytes + f.event.message.size() > read.max_bytes)) break;
    bytes += f.event.message.size();
    out.push_back(MakeEvent(f.event, f.ingestion_ms, s.id));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

Result<std::vector<StoredEvent>> LogStore::ReadStream(const std::string& account, const std::string& group,
                                                      const std::string& stream, const StreamRead& read) const {
  ANNEX_ASSIGN_OR_RETURN(ReadView view, BeginReadView());
  const store::ReadTxn& txn = view.txn;
  ANNEX_ASSIGN_OR_RETURN(auto g, LoadGroup(txn, *tables_, account, group));
  if (!g) return GroupNotFound(group);
  ANNEX_ASSIGN_OR_RETURN(auto stored, LoadStream(txn, *tables_, g->id, stream));
  if (!stored) return StreamNotFound(stream);
  const StreamRecord s = view.pending.Merged(*stored);
  const std::vector<PendingChunkPtr>& pending = view.pending.ForStream(s.id);
  if (!read.forward) return ReadBackward(txn, *tables_, s, pending, read);

  StreamPosition from{read.start_ms.value_or(INT64_MIN), 0};
  if (read.after && PositionBefore(from, After(*read.after))) from = After(*read.after);
  ANNEX_ASSIGN_OR_RETURN(store::Cursor raw, txn.OpenCursor(tables_->events));
  StreamEventCursor c(std::move(raw), s.id, s.max_span_ms, pending);
  std::vector<StoredEvent> out;
  size_t bytes = 0;
  Status scan = c.Seek(from);
  for (; scan.ok() && c.Valid(); scan = c.Next()) {
    const ChunkEvent& e = c.event();
    if (read.end_ms && e.timestamp_ms >= *read.end_ms) break;
    if (out.size() >= read.limit || (!out.empty() && bytes + e.message.size() > read.max_bytes)) break;
    bytes += e.message.size();
    out.push_back(MakeEvent(e, c.ingestion_ms(), s.id));
  }
  ANNEX_RETURN_IF_ERROR(scan);
  return out;
}

Result<GroupReadResult> LogStore::ReadGroup(const std::string& account, const std::string& group,
                                            const GroupRead& read) const {
  ANNEX_ASSIGN_OR_RETURN(ReadView view, BeginReadView());
  const store::ReadTxn& txn = view.txn;
  ANNEX_ASSIGN_OR_RETURN(auto g, LoadGroup(txn, *tables_, account, group));
  if (!g) return GroupNotFound(group);

  // The streams to search: named ones, or all with the prefix.
  std::vector<StreamRecord> streams;
  if (!read.stream_names.empty()) {
    for (const auto& name : read.stream_names) {
      ANNEX_ASSIGN_OR_RETURN(auto s, LoadStream(txn, *tables_, g->id, name));
      if (s) streams.push_back(view.pending.Merged(*s));
    }
  } else {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(tables_->streams));
    std::string group_prefix = StreamKeyPrefix(g->id);
    Status scan = c.Seek(group_prefix + NameKey(read.stream_prefix));
    for (; scan.ok() && c.Valid() && c.key().starts_with(group_prefix); scan = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(StreamRecord s, DecodeStream(c.value()));
      if (!std::string_view(s.name).starts_with(read.stream_prefix)) {
        if (s.name > read.stream_prefix) break;
        continue;
      }
      streams.push_back(view.pending.Merged(s));
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }

  GroupReadResult result;
  // One cursor per stream that can hold a matching event, merged by a heap.
  struct Head {
    GroupPosition pos;
    size_t index;
  };
  auto later = [](const Head& a, const Head& b) { return Before(b.pos, a.pos); };
  std::priority_queue<Head, std::vector<Head>, decltype(later)> heap(later);
  std::vector<StreamEventCursor> cursors;
  std::vector<const StreamRecord*> owners;
  cursors.reserve(streams.size());
  int64_t from_ms = read.start_ms.value_or(INT64_MIN);
  if (read.after) from_ms = std::max(from_ms, read.after->timestamp_ms);

  // Moves cursor i to its next event in range (not at or before `after`), pushing it on the heap.
  auto advance = [&](size_t i, bool first) -> Status {
    StreamEventCursor& c = cursors[i];
    Status scan = first ? c.Seek({from_ms, 0}) : c.Next();
    for (; scan.ok() && c.Valid(); scan = c.Next()) {
      const ChunkEvent& e = c.event();
      if (read.end_ms && e.timestamp_ms >= *read.end_ms) return Status::OK();
      GroupPosition pos{e.timestamp_ms, owners[i]->id, e.seq};
      if (read.after && !Before(*read.after, pos)) continue;
      heap.push(Head{pos, i});
      return Status::OK();
    }
    return scan;
  };
  for (const StreamRecord& s : streams) {
    result.searched_streams.push_back(s.name);
    if (!s.has_events) continue;
    if (read.start_ms && s.last_ms < *read.start_ms) continue;
    if (read.end_ms && s.first_ms >= *read.end_ms) continue;
    ANNEX_ASSIGN_OR_RETURN(store::Cursor raw, txn.OpenCursor(tables_->events));
    cursors.emplace_back(std::move(raw), s.id, s.max_span_ms, view.pending.ForStream(s.id));
    owners.push_back(&s);
    ANNEX_RETURN_IF_ERROR(advance(cursors.size() - 1, /*first=*/true));
  }

  size_t scanned = 0, bytes = 0;
  while (!heap.empty()) {
    if (result.events.size() >= read.limit || scanned >= read.scan_budget || bytes >= read.max_bytes) {
      break;  // `resume` says where the last one examined was
    }
    Head head = heap.top();
    heap.pop();
    ++scanned;
    StreamEventCursor& c = cursors[head.index];
    const ChunkEvent& e = c.event();
    if (!read.match || read.match(e.message)) {
      StoredEvent out = MakeEvent(e, c.ingestion_ms(), head.pos.stream_id);
      out.stream = owners[head.index]->name;
      bytes += out.message.size();
      result.events.push_back(std::move(out));
    }
    result.resume = head.pos;
    ANNEX_RETURN_IF_ERROR(advance(head.index, /*first=*/false));
  }
  if (heap.empty()) result.resume.reset();  // searched completely
  return result;
}

}  // namespace annex::logs
