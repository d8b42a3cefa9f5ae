#include "appliance/events/event_log.h"

#include <algorithm>

#include "appliance/store/counter.h"
#include "appliance/store/record.h"

namespace annex::events {
namespace {

using store::SeqKey;

constexpr uint8_t kVersion = 1;
constexpr std::string_view kLastSeqKey = "last_seq";

std::string EncodeEvent(const Event& e) {
  store::RecordWriter w(kVersion);
  w.Bytes(e.source).Bytes(e.type).Bytes(e.detail).I64(e.time_ms);
  return w.Finish();
}

Result<Event> DecodeEvent(const std::string& log, uint64_t seq, std::string_view value) {
  store::RecordReader r(value);
  Event e;
  e.log = log;
  e.seq = seq;
  ANNEX_ASSIGN_OR_RETURN(e.source, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(e.type, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(e.detail, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(e.time_ms, r.I64());
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return e;
}

Result<SubscriberCursor> ReadCursor(const store::ReadTxn& txn, store::Table table, std::string_view subscriber) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table, subscriber));
  SubscriberCursor c;
  if (!value) return c;
  store::RecordReader r(*value);
  ANNEX_ASSIGN_OR_RETURN(c.delivered, r.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t attempts, r.U64());
  c.attempts = static_cast<uint32_t>(attempts);
  ANNEX_ASSIGN_OR_RETURN(c.retry_at_ms, r.I64());
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return c;
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::Open(std::string name, store::LmdbEnv& env) {
  ANNEX_ASSIGN_OR_RETURN(store::Table log, env.OpenTable("event_log"));
  ANNEX_ASSIGN_OR_RETURN(store::Table cursors, env.OpenTable("event_cursors"));
  ANNEX_ASSIGN_OR_RETURN(store::Table dead, env.OpenTable("event_dead"));
  ANNEX_ASSIGN_OR_RETURN(store::Table meta, env.OpenTable("event_meta"));
  return std::unique_ptr<EventLog>(new EventLog(std::move(name), env, log, cursors, dead, meta));
}

Result<uint64_t> EventLog::Publish(store::WriteTxn& txn, std::string_view source, std::string_view type,
                                   std::string_view detail, int64_t time_ms) {
  // LMDB has one writer at a time, so reading and bumping the counter here is race-free.
  ANNEX_ASSIGN_OR_RETURN(uint64_t seq, store::ReadCounter(txn, meta_, kLastSeqKey));
  ++seq;
  Event e{name_, seq, std::string(source), std::string(type), std::string(detail), time_ms};
  ANNEX_RETURN_IF_ERROR(txn.Put(log_, SeqKey(seq), EncodeEvent(e)));
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, meta_, kLastSeqKey, seq));
  return seq;
}

Result<std::vector<Event>> EventLog::ReadFrom(uint64_t first, size_t max) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_.BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(log_));
  std::vector<Event> out;
  ANNEX_RETURN_IF_ERROR(cursor.Seek(SeqKey(first)));
  while (cursor.Valid() && out.size() < max) {
    if (cursor.key().size() != 8) return Status::Corruption("event_log key");
    ANNEX_ASSIGN_OR_RETURN(Event e, DecodeEvent(name_, store::ReadBigEndian64(cursor.key()), cursor.value()));
    out.push_back(std::move(e));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

uint64_t EventLog::LastSequence() const {
  auto txn = env_.BeginRead();
  if (!txn.ok()) return 0;
  auto seq = store::ReadCounter(*txn, meta_, kLastSeqKey);
  return seq.ok() ? *seq : 0;
}

Result<SubscriberCursor> EventLog::LoadCursor(std::string_view subscriber) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_.BeginRead());
  return ReadCursor(txn, cursors_, subscriber);
}

Status EventLog::SaveCursor(std::string_view subscriber, const SubscriberCursor& cursor, const DeadLetter* dead,
                            const std::vector<std::string>& all_subscribers) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_.BeginWrite());
  store::RecordWriter w(kVersion);
  w.U64(cursor.delivered).U64(cursor.attempts).I64(cursor.retry_at_ms);
  ANNEX_RETURN_IF_ERROR(txn.Put(cursors_, subscriber, w.Finish()));
  if (dead) {
    store::RecordWriter d(kVersion);
    d.Bytes(EncodeEvent(dead->event)).U64(dead->attempts).Bytes(dead->error);
    std::string key(subscriber);
    key.push_back('\0');
    key += SeqKey(dead->event.seq);
    ANNEX_RETURN_IF_ERROR(txn.Put(dead_, key, d.Finish()));
  }
  // Events every subscriber has had are not needed any more.
  uint64_t everyone = cursor.delivered;
  for (const auto& other : all_subscribers) {
    if (other == subscriber) continue;
    ANNEX_ASSIGN_OR_RETURN(SubscriberCursor c, ReadCursor(txn, cursors_, other));
    everyone = std::min(everyone, c.delivered);
  }
  if (everyone > 0) {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor it, txn.OpenCursor(log_));
    std::vector<std::string> done;
    ANNEX_RETURN_IF_ERROR(it.SeekFirst());
    while (it.Valid() && it.key().size() == 8 && store::ReadBigEndian64(it.key()) <= everyone) {
      done.emplace_back(it.key());
      ANNEX_RETURN_IF_ERROR(it.Next());
    }
    for (const auto& key : done) ANNEX_RETURN_IF_ERROR(txn.Delete(log_, key));
  }
  return txn.Commit();
}

Result<std::vector<DeadLetter>> EventLog::DeadLetters() const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_.BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(dead_));
  std::vector<DeadLetter> out;
  ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
  while (cursor.Valid()) {
    std::string_view key = cursor.key();
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos || key.size() != nul + 9) return Status::Corruption("event_dead key");
    DeadLetter d;
    d.subscriber = std::string(key.substr(0, nul));
    store::RecordReader r(cursor.value());
    ANNEX_ASSIGN_OR_RETURN(std::string event, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(d.event, DecodeEvent(name_, store::ReadBigEndian64(key.substr(nul + 1)), event));
    ANNEX_ASSIGN_OR_RETURN(uint64_t attempts, r.U64());
    d.attempts = static_cast<uint32_t>(attempts);
    ANNEX_ASSIGN_OR_RETURN(d.error, r.Bytes());
    ANNEX_RETURN_IF_ERROR(r.Finish());
    out.push_back(std::move(d));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

}  // namespace annex::events
