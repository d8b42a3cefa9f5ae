#include "appliance/logs/log_records.h"

#include "appliance/crypto/hash.h"
#include "appliance/store/counter.h"
#include "appliance/store/record.h"

namespace annex::logs {
namespace {

constexpr size_t kMaxPlainNameKey = 400;
constexpr uint64_t kTimeBias = uint64_t{1} << 63;

uint64_t BiasTime(int64_t t) { return static_cast<uint64_t>(t) ^ kTimeBias; }
int64_t UnbiasTime(uint64_t v) { return static_cast<int64_t>(v ^ kTimeBias); }

}  // namespace

std::string NameKey(std::string_view name) {
  if (name.size() <= kMaxPlainNameKey) return std::string(name);
  std::string key(name.substr(0, kMaxPlainNameKey));
  key += crypto::Sha256Hex(name);
  return key;
}

std::string GroupKeyPrefix(std::string_view account) {
  std::string key(account);
  key.push_back('\0');
  return key;
}

std::string GroupKey(std::string_view account, std::string_view group) { return GroupKeyPrefix(account) + NameKey(group); }

std::string StreamKeyPrefix(uint64_t group_id) {
  std::string key;
  store::AppendBigEndian64(key, group_id);
  return key;
}

std::string StreamKey(uint64_t group_id, std::string_view stream) { return StreamKeyPrefix(group_id) + NameKey(stream); }

std::string EventKeyPrefix(uint64_t stream_id) {
  std::string key;
  store::AppendBigEndian64(key, stream_id);
  return key;
}

std::string EventKey(uint64_t stream_id, int64_t timestamp_ms, uint64_t seq) {
  std::string key;
  key.reserve(24);
  store::AppendBigEndian64(key, stream_id);
  store::AppendBigEndian64(key, BiasTime(timestamp_ms));
  store::AppendBigEndian64(key, seq);
  return key;
}

Result<EventKeyParts> ParseEventKey(std::string_view key) {
  if (key.size() != 24) return Status::Corruption("log event key of " + std::to_string(key.size()) + " bytes");
  return EventKeyParts{store::ReadBigEndian64(key), UnbiasTime(store::ReadBigEndian64(key.substr(8))),
                       store::ReadBigEndian64(key.substr(16))};
}

std::string EncodeGroup(const GroupRecord& r) {
  store::RecordWriter w(1);
  w.U64(r.id).Bytes(r.name).I64(r.creation_ms).U64(static_cast<uint64_t>(r.retention_days)).U64(r.stored_bytes);
  w.U64(r.tags.size());
  for (const auto& [k, v] : r.tags) w.Bytes(k).Bytes(v);
  return w.Finish();
}

Result<GroupRecord> DecodeGroup(std::string_view data) {
  store::RecordReader r(data);
  GroupRecord g;
  ANNEX_ASSIGN_OR_RETURN(g.id, r.U64());
  ANNEX_ASSIGN_OR_RETURN(g.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(g.creation_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t days, r.U64());
  g.retention_days = static_cast<int>(days);
  ANNEX_ASSIGN_OR_RETURN(g.stored_bytes, r.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t tags, r.U64());
  for (uint64_t i = 0; i < tags; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(std::string v, r.Bytes());
    g.tags.emplace(std::move(k), std::move(v));
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return g;
}

std::string EncodeStream(const StreamRecord& r) {
  store::RecordWriter w(1);
  w.U64(r.id).Bytes(r.name).I64(r.creation_ms).Bool(r.has_events).I64(r.first_ms).Bool(r.ever_appended);
  w.I64(r.last_ms).I64(r.last_ingestion_ms).U64(r.stored_bytes).U64(r.next_seq).I64(r.max_span_ms);
  return w.Finish();
}

Result<StreamRecord> DecodeStream(std::string_view data) {
  store::RecordReader r(data);
  StreamRecord s;
  ANNEX_ASSIGN_OR_RETURN(s.id, r.U64());
  ANNEX_ASSIGN_OR_RETURN(s.name, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.creation_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(s.has_events, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(s.first_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(s.ever_appended, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(s.last_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(s.last_ingestion_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(s.stored_bytes, r.U64());
  ANNEX_ASSIGN_OR_RETURN(s.next_seq, r.U64());
  ANNEX_ASSIGN_OR_RETURN(s.max_span_ms, r.I64());
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return s;
}

LogGroupInfo ToInfo(const GroupRecord& r) {
  LogGroupInfo info;
  info.name = r.name;
  info.creation_ms = r.creation_ms;
  if (r.retention_days > 0) info.retention_days = r.retention_days;
  info.stored_bytes = r.stored_bytes;
  info.tags = r.tags;
  return info;
}

LogStreamInfo ToInfo(const StreamRecord& r) {
  LogStreamInfo info;
  info.name = r.name;
  info.creation_ms = r.creation_ms;
  if (r.has_events) info.first_event_ms = r.first_ms;
  if (r.ever_appended) {
    info.last_event_ms = r.last_ms;
    info.last_ingestion_ms = r.last_ingestion_ms;
  }
  info.stored_bytes = r.stored_bytes;
  return info;
}

Result<std::optional<GroupRecord>> LoadGroup(const store::ReadTxn& txn, const LogTables& t, std::string_view account,
                                             std::string_view group) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.groups, GroupKey(account, group)));
  if (!value) return std::optional<GroupRecord>();
  ANNEX_ASSIGN_OR_RETURN(GroupRecord r, DecodeGroup(*value));
  if (r.name != group) return std::optional<GroupRecord>();  // a long name sharing a key prefix and hash: no
  return std::optional<GroupRecord>(std::move(r));
}

Result<std::optional<StreamRecord>> LoadStream(const store::ReadTxn& txn, const LogTables& t, uint64_t group_id,
                                               std::string_view stream) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.streams, StreamKey(group_id, stream)));
  if (!value) return std::optional<StreamRecord>();
  ANNEX_ASSIGN_OR_RETURN(StreamRecord r, DecodeStream(*value));
  if (r.name != stream) return std::optional<StreamRecord>();
  return std::optional<StreamRecord>(std::move(r));
}

Status GroupNotFound(std::string_view group) {
  return Status::NotFound("The specified log group does not exist: " + std::string(group));
}
Status StreamNotFound(std::string_view stream) {
  return Status::NotFound("The specified log stream does not exist: " + std::string(stream));
}

namespace {
Result<uint64_t> NextId(store::WriteTxn& txn, const LogTables& t) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t id, store::ReadCounter(txn, t.meta, kNextId));
  ++id;
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, t.meta, kNextId, id));
  return id;
}
}  // namespace

Result<GroupRecord> NewGroup(store::WriteTxn& txn, const LogTables& t, const std::string& account,
                             const std::string& group, int64_t now_ms, const Tags& tags) {
  GroupRecord g;
  ANNEX_ASSIGN_OR_RETURN(g.id, NextId(txn, t));
  g.name = group;
  g.creation_ms = now_ms;
  g.tags = tags;
  ANNEX_RETURN_IF_ERROR(txn.Put(t.groups, GroupKey(account, group), EncodeGroup(g)));
  return g;
}

Result<StreamRecord> NewStream(store::WriteTxn& txn, const LogTables& t, uint64_t group_id, const std::string& stream,
                               int64_t now_ms) {
  StreamRecord s;
  ANNEX_ASSIGN_OR_RETURN(s.id, NextId(txn, t));
  s.name = stream;
  s.creation_ms = now_ms;
  ANNEX_RETURN_IF_ERROR(txn.Put(t.streams, StreamKey(group_id, stream), EncodeStream(s)));
  return s;
}

}  // namespace annex::logs
