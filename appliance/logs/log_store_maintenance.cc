// LogStore::Maintain: retention, the size bound, and the events of deleted
// groups and streams — each batch one short transaction.

#include <algorithm>
#include <climits>
#include <map>

#include "appliance/logs/log_chunk.h"
#include "appliance/logs/log_records.h"
#include "appliance/store/counter.h"
#include "appliance/logs/log_store.h"
#include "appliance/store/group_commit.h"
#include "appliance/store/lmdb_env.h"
#include "appliance/store/record.h"

namespace annex::logs {
namespace {

constexpr int64_t kMsPerDay = 24 * 3600 * 1000;

// A stream and the group it belongs to, as maintenance finds them.
struct StreamRef {
  std::string group_key;
  std::string stream_key;
  int64_t first_ms = 0;
  int64_t cutoff_ms = INT64_MAX;  // delete events before this
};

struct Deleted {
  uint64_t events = 0;
  uint64_t bytes = 0;
};

// Deletes the stream's oldest events that are older than `ref.cutoff_ms`
// — whole chunks, and the old head of a chunk that straddles the cutoff —
// stopping after about `max_events` (whole chunks) and, with `bytes_wanted`,
// once that much is freed. Keeps the stream's and group's counters and the total.
Result<Deleted> DeleteStreamHead(store::WriteTxn& txn, const LogTables& t, const StreamRef& ref, size_t max_events,
                                 uint64_t bytes_wanted) {
  Deleted d;
  ANNEX_ASSIGN_OR_RETURN(auto stream_value, txn.Get(t.streams, ref.stream_key));
  if (!stream_value) return d;  // deleted meanwhile
  ANNEX_ASSIGN_OR_RETURN(StreamRecord s, DecodeStream(*stream_value));
  std::string prefix = EventKeyPrefix(s.id);
  std::vector<std::string> doomed;
  std::vector<std::pair<std::string, std::string>> rewrites;  // chunks' surviving tails: key, value
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.events));
    Status scan = c.Seek(prefix);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(EventKeyParts k, ParseEventKey(c.key()));
      bool enough = d.events >= max_events || (bytes_wanted > 0 && d.bytes >= bytes_wanted);
      if (k.timestamp_ms >= ref.cutoff_ms || enough) break;
      ANNEX_ASSIGN_OR_RETURN(DecodedChunk chunk, DecodeChunk(c.value(), k.timestamp_ms, k.seq));
      size_t keep_from = 0;
      while (keep_from < chunk.events.size() && chunk.events[keep_from].timestamp_ms < ref.cutoff_ms &&
             !(bytes_wanted > 0 && d.bytes >= bytes_wanted)) {
        d.bytes += chunk.events[keep_from].message.size();
        ++d.events;
        ++keep_from;
      }
      doomed.emplace_back(c.key());
      if (keep_from < chunk.events.size()) {
        // The chunk's newer events stay, under the key of the first of them.
        std::vector<LogEvent> rest;
        for (size_t i = keep_from; i < chunk.events.size(); ++i) {
          rest.push_back(LogEvent{chunk.events[i].timestamp_ms, std::string(chunk.events[i].message)});
        }
        std::vector<const LogEvent*> pointers;
        for (const auto& e : rest) pointers.push_back(&e);
        const ChunkEvent& first = chunk.events[keep_from];
        rewrites.emplace_back(EventKey(s.id, first.timestamp_ms, first.seq), EncodeChunk(chunk.ingestion_ms, pointers));
      }
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }
  for (const auto& key : doomed) ANNEX_RETURN_IF_ERROR(txn.Delete(t.events, key));
  for (const auto& [key, value] : rewrites) ANNEX_RETURN_IF_ERROR(txn.Put(t.events, key, value));
  {
    // The oldest event left is the first key's.
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.events));
    ANNEX_RETURN_IF_ERROR(c.Seek(prefix));
    s.has_events = c.Valid() && c.key().starts_with(prefix);
    if (s.has_events) {
      ANNEX_ASSIGN_OR_RETURN(EventKeyParts k, ParseEventKey(c.key()));
      s.first_ms = k.timestamp_ms;
    }
  }
  s.stored_bytes -= std::min(s.stored_bytes, d.bytes);
  ANNEX_RETURN_IF_ERROR(txn.Put(t.streams, ref.stream_key, EncodeStream(s)));
  ANNEX_ASSIGN_OR_RETURN(auto group_value, txn.Get(t.groups, ref.group_key));
  if (group_value) {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, DecodeGroup(*group_value));
    g.stored_bytes -= std::min(g.stored_bytes, d.bytes);
    ANNEX_RETURN_IF_ERROR(txn.Put(t.groups, ref.group_key, EncodeGroup(g)));
  }
  ANNEX_ASSIGN_OR_RETURN(uint64_t total, store::ReadCounter(txn, t.meta, kTotalBytes));
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, t.meta, kTotalBytes, total - std::min(total, d.bytes)));
  return d;
}

// Deletes about `max_events` events (whole chunks) of the first doomed stream; false when none is left.
Result<bool> DropDoomed(store::WriteTxn& txn, const LogTables& t, size_t max_events, Deleted& d) {
  std::string doomed_key;
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.doomed));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    if (!c.Valid()) return false;
    doomed_key = std::string(c.key());
  }
  std::string prefix = EventKeyPrefix(store::ReadBigEndian64(doomed_key));
  std::vector<std::string> keys;
  bool more = false;
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.events));
    Status scan = c.Seek(prefix);
    for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
      if (d.events >= max_events) {
        more = true;
        break;
      }
      uint64_t count = 0, bytes = 0;
      ANNEX_RETURN_IF_ERROR(ChunkTotals(c.value(), count, bytes));
      d.events += count;
      d.bytes += bytes;
      keys.emplace_back(c.key());
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }
  for (const auto& key : keys) ANNEX_RETURN_IF_ERROR(txn.Delete(t.events, key));
  if (!more) ANNEX_RETURN_IF_ERROR(txn.Delete(t.doomed, doomed_key));
  ANNEX_ASSIGN_OR_RETURN(uint64_t total, store::ReadCounter(txn, t.meta, kTotalBytes));
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, t.meta, kTotalBytes, total - std::min(total, d.bytes)));
  return true;
}

// Every stream holding events, with its group's key and retention cutoff.
Result<std::vector<StreamRef>> StreamsWithEvents(const store::ReadTxn& txn, const LogTables& t, int64_t now_ms,
                                                 bool retention_only) {
  std::map<uint64_t, std::pair<std::string, int64_t>> groups;  // id → key, cutoff
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.groups));
    Status scan = c.SeekFirst();
    for (; scan.ok() && c.Valid(); scan = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(GroupRecord g, DecodeGroup(c.value()));
      if (retention_only && g.retention_days <= 0) continue;
      int64_t cutoff = g.retention_days > 0 ? now_ms - int64_t{g.retention_days} * kMsPerDay : INT64_MAX;
      groups.emplace(g.id, std::make_pair(std::string(c.key()), cutoff));
    }
    ANNEX_RETURN_IF_ERROR(scan);
  }
  std::vector<StreamRef> out;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.streams));
  Status scan = c.SeekFirst();
  for (; scan.ok() && c.Valid(); scan = c.Next()) {
    if (c.key().size() < 8) continue;
    auto g = groups.find(store::ReadBigEndian64(c.key()));
    if (g == groups.end()) continue;
    ANNEX_ASSIGN_OR_RETURN(StreamRecord s, DecodeStream(c.value()));
    if (!s.has_events) continue;
    if (retention_only && s.first_ms >= g->second.second) continue;
    out.push_back(StreamRef{g->second.first, std::string(c.key()), s.first_ms,
                            retention_only ? g->second.second : INT64_MAX});
  }
  ANNEX_RETURN_IF_ERROR(scan);
  return out;
}

}  // namespace

Result<MaintenanceReport> LogStore::Maintain(size_t max_batches) {
  // Eviction sees LMDB only: journaled appends go there first.
  ANNEX_RETURN_IF_ERROR(ApplyAll());
  MaintenanceReport report;
  size_t batches = 0;
  const size_t batch = std::max<size_t>(1, options_.batch_events);
  auto commit = [&](std::function<Status(store::WriteTxn&)> op) -> Status {
    ++batches;
    return committer_->Run(std::move(op));
  };

  // Deleted groups and streams.
  bool doomed = false;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(tables_->doomed));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    doomed = c.Valid();
  }
  for (bool more = doomed; more && batches < max_batches;) {
    Deleted d;
    ANNEX_RETURN_IF_ERROR(commit([&](store::WriteTxn& txn) -> Status {
      d = {};
      ANNEX_ASSIGN_OR_RETURN(more, DropDoomed(txn, *tables_, batch, d));
      return Status::OK();
    }));
    report.events_dropped += d.events;
    total_bytes_.fetch_sub(std::min(total_bytes_.load(), d.bytes));
  }

  // Retention.
  std::vector<StreamRef> expiring;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(expiring, StreamsWithEvents(txn, *tables_, NowMs(), /*retention_only=*/true));
  }
  for (const StreamRef& ref : expiring) {
    for (bool more = true; more && batches < max_batches;) {
      Deleted d;
      ANNEX_RETURN_IF_ERROR(commit([&](store::WriteTxn& txn) -> Status {
        ANNEX_ASSIGN_OR_RETURN(d, DeleteStreamHead(txn, *tables_, ref, batch, 0));
        return Status::OK();
      }));
      report.events_expired += d.events;
      total_bytes_.fetch_sub(std::min(total_bytes_.load(), d.bytes));
      more = d.events >= batch;
    }
  }

  // The size bound: the stream with the oldest event gives up events up to
  // the next stream's oldest, until the store is back under the bound.
  while (total_bytes_.load() > options_.max_bytes && batches < max_batches) {
    std::vector<StreamRef> streams;
    {
      ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
      ANNEX_ASSIGN_OR_RETURN(streams, StreamsWithEvents(txn, *tables_, NowMs(), /*retention_only=*/false));
    }
    if (streams.empty()) break;
    std::sort(streams.begin(), streams.end(), [](const auto& a, const auto& b) { return a.first_ms < b.first_ms; });
    StreamRef ref = streams.front();
    ref.cutoff_ms = streams.size() > 1 ? std::max(streams[1].first_ms, ref.first_ms) + 1 : INT64_MAX;
    uint64_t wanted = total_bytes_.load() - options_.max_bytes;
    Deleted d;
    ANNEX_RETURN_IF_ERROR(commit([&](store::WriteTxn& txn) -> Status {
      ANNEX_ASSIGN_OR_RETURN(d, DeleteStreamHead(txn, *tables_, ref, batch, wanted));
      return Status::OK();
    }));
    report.events_evicted += d.events;
    total_bytes_.fetch_sub(std::min(total_bytes_.load(), d.bytes));
    if (d.events == 0) break;  // nothing evictable: counters and events disagree
  }
  report.done = batches < max_batches;
  return report;
}

}  // namespace annex::logs
