// LogStore's reads: one stream by time, and a group's streams merged.

#include <algorithm>
#include <cstdio>
#include <queue>

#include "appliance/logs/log_records.h"
#include "appliance/logs/log_store.h"
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

Result<StoredEvent> DecodeEvent(std::string_view key, std::string_view value) {
  ANNEX_ASSIGN_OR_RETURN(EventKeyParts k, ParseEventKey(key));
  StoredEvent e;
  std::string_view message;
  ANNEX_RETURN_IF_ERROR(DecodeEventValue(value, e.ingestion_ms, message));
  e.message = std::string(message);
  e.timestamp_ms = k.timestamp_ms;
  e.position = {k.timestamp_ms, k.seq};
  e.event_id = EventId(k.timestamp_ms, k.stream_id, k.seq);
  return e;
}

bool Before(const GroupPosition& a, const GroupPosition& b) {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms < b.timestamp_ms;
  if (a.stream_id != b.stream_id) return a.stream_id < b.stream_id;
  return a.seq < b.seq;
}

}  // namespace

Result<std::vector<StoredEvent>> LogStore::ReadStream(const std::string& account, const std::string& group,
                                                      const std::string& stream, const StreamRead& read) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto g, LoadGroup(txn, *tables_, account, group));
  if (!g) return Status::NotFound("The specified log group does not exist: " + group);
  ANNEX_ASSIGN_OR_RETURN(auto s, LoadStream(txn, *tables_, g->id, stream));
  if (!s) return Status::NotFound("The specified log stream does not exist: " + stream);
  std::string prefix = EventKeyPrefix(s->id);
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(tables_->events));
  std::vector<StoredEvent> out;
  size_t bytes = 0;
  auto take = [&](std::string_view key, std::string_view value) -> Result<bool> {
    ANNEX_ASSIGN_OR_RETURN(StoredEvent e, DecodeEvent(key, value));
    if (read.start_ms && e.timestamp_ms < *read.start_ms) return false;
    if (read.end_ms && e.timestamp_ms >= *read.end_ms) return false;
    if (out.size() >= read.limit || (!out.empty() && bytes + e.message.size() > read.max_bytes)) return false;
    bytes += e.message.size();
    out.push_back(std::move(e));
    return true;
  };
  if (read.forward) {
    std::string from = prefix;
    if (read.start_ms) from = std::max(from, EventKey(s->id, *read.start_ms, 0));
    if (read.after) {
      const StreamPosition& a = *read.after;
      std::string next = a.seq == UINT64_MAX ? (a.timestamp_ms == INT64_MAX ? EventKeyPrefix(s->id + 1)
                                                                            : EventKey(s->id, a.timestamp_ms + 1, 0))
                                             : EventKey(s->id, a.timestamp_ms, a.seq + 1);
      from = std::max(from, next);
    }
    Status scan = c.Seek(from);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(bool taken, take(c.key(), c.value()));
      if (!taken) break;
    }
    ANNEX_RETURN_IF_ERROR(scan);
    return out;
  }
  std::string below = EventKeyPrefix(s->id + 1);
  if (read.end_ms) below = std::min(below, EventKey(s->id, *read.end_ms, 0));
  if (read.before) below = std::min(below, EventKey(s->id, read.before->timestamp_ms, read.before->seq));
  Status scan = c.SeekBefore(below);
  for (; scan.ok() && c.Valid() && c.key().starts_with(prefix) && c.key() < std::string_view(below); scan = c.Prev()) {
    ANNEX_ASSIGN_OR_RETURN(bool taken, take(c.key(), c.value()));
    if (!taken) break;
  }
  ANNEX_RETURN_IF_ERROR(scan);
  std::reverse(out.begin(), out.end());
  return out;
}

Result<GroupReadResult> LogStore::ReadGroup(const std::string& account, const std::string& group,
                                            const GroupRead& read) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto g, LoadGroup(txn, *tables_, account, group));
  if (!g) return Status::NotFound("The specified log group does not exist: " + group);

  // The streams to search: named ones, or all with the prefix.
  std::vector<StreamRecord> streams;
  if (!read.stream_names.empty()) {
    for (const auto& name : read.stream_names) {
      ANNEX_ASSIGN_OR_RETURN(auto s, LoadStream(txn, *tables_, g->id, name));
      if (s) streams.push_back(std::move(*s));
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
      streams.push_back(std::move(s));
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
  std::vector<store::Cursor> cursors;
  std::vector<const StreamRecord*> owners;
  cursors.reserve(streams.size());
  int64_t from_ms = read.start_ms.value_or(INT64_MIN);
  if (read.after) from_ms = std::max(from_ms, read.after->timestamp_ms);

  // Moves cursor i to its next event in range (not at or before `after`), pushing it on the heap.
  auto advance = [&](size_t i, bool first) -> Status {
    store::Cursor& c = cursors[i];
    const StreamRecord& s = *owners[i];
    std::string prefix = EventKeyPrefix(s.id);
    Status scan = first ? c.Seek(EventKey(s.id, from_ms, 0)) : c.Next();
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(EventKeyParts k, ParseEventKey(c.key()));
      if (read.end_ms && k.timestamp_ms >= *read.end_ms) return Status::OK();
      GroupPosition pos{k.timestamp_ms, k.stream_id, k.seq};
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
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(tables_->events));
    cursors.push_back(std::move(c));
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
    store::Cursor& c = cursors[head.index];
    int64_t ingestion = 0;
    std::string_view message;
    ANNEX_RETURN_IF_ERROR(DecodeEventValue(c.value(), ingestion, message));
    if (!read.match || read.match(message)) {
      StoredEvent e;
      e.timestamp_ms = head.pos.timestamp_ms;
      e.ingestion_ms = ingestion;
      e.message = std::string(message);
      e.position = {head.pos.timestamp_ms, head.pos.seq};
      e.stream = owners[head.index]->name;
      e.event_id = EventId(head.pos.timestamp_ms, head.pos.stream_id, head.pos.seq);
      bytes += e.message.size();
      result.events.push_back(std::move(e));
    }
    result.resume = head.pos;
    ANNEX_RETURN_IF_ERROR(advance(head.index, /*first=*/false));
  }
  if (heap.empty()) result.resume.reset();  // searched completely
  return result;
}

}  // namespace annex::logs
