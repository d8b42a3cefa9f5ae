#include "sync/agent/outbox.h"

#include "appliance/store/counter.h"
#include "appliance/store/record.h"

namespace annex::sync {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr std::string_view kLastSeqKey = "last_seq";
constexpr std::string_view kLastAckKey = "last_ack";

// Big-endian, so LMDB's bytewise key order is numeric order.
using store::SeqKey;

}  // namespace

Outbox::Outbox(std::unique_ptr<store::LmdbEnv> env, store::Table records, store::Table meta,
               store::Table positions)
    : env_(std::move(env)), records_(records), meta_(meta), positions_(positions) {}

Result<std::unique_ptr<Outbox>> Outbox::Open(const std::string& dir) {
  store::LmdbEnv::Options options;
  options.map_size = size_t{1} << 32;
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir, options));
  ANNEX_ASSIGN_OR_RETURN(store::Table records, env->OpenTable("records"));
  ANNEX_ASSIGN_OR_RETURN(store::Table meta, env->OpenTable("meta"));
  ANNEX_ASSIGN_OR_RETURN(store::Table positions, env->OpenTable("positions"));
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(env), records, meta, positions));
  ANNEX_RETURN_IF_ERROR(outbox->LoadCounters());
  return outbox;
}

Status Outbox::LoadCounters() {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(uint64_t seq, store::ReadCounter(txn, meta_, kLastSeqKey));
  ANNEX_ASSIGN_OR_RETURN(uint64_t ack, store::ReadCounter(txn, meta_, kLastAckKey));
  if (ack > seq) return Status::Corruption("outbox acknowledged more than it sent");
  last_seq_ = seq;
  last_ack_ = ack;
  return Status::OK();
}

Result<uint64_t> Outbox::Append(std::string_view kind, std::string_view payload, int64_t now_unix_ms) {
  return AppendAt(kind, {std::string(payload)}, now_unix_ms, {}, 0);
}

Result<uint64_t> Outbox::AppendAt(std::string_view kind, const std::vector<std::string>& payloads,
                                  int64_t now_unix_ms, std::string_view position, uint64_t value) {
  std::lock_guard lock(write_mu_);
  uint64_t seq = last_seq_;
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  for (const auto& payload : payloads) {
    ++seq;
    std::string record = store::RecordWriter(kRecordVersion).Bytes(kind).Bytes(payload).I64(now_unix_ms).Finish();
    ANNEX_RETURN_IF_ERROR(txn.Put(records_, SeqKey(seq), record));
  }
  // The counter is kept apart from the records, so numbers are not reused
  // even when every record has been acknowledged and deleted.
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, meta_, kLastSeqKey, seq));
  if (!position.empty()) ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, positions_, position, value));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  last_seq_ = seq;
  return seq;
}

Result<uint64_t> Outbox::Position(std::string_view name) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  return store::ReadCounter(txn, positions_, name);
}

Status Outbox::SetPosition(std::string_view name, uint64_t value) {
  std::lock_guard lock(write_mu_);
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, positions_, name, value));
  return txn.Commit();
}

Status Outbox::Acknowledge(uint64_t seq) {
  std::lock_guard lock(write_mu_);
  if (seq > last_seq_) {
    return Status::InvalidArgument("acknowledgement of record " + std::to_string(seq) + ", but only " +
                                   std::to_string(last_seq_.load()) + " were sent");
  }
  if (seq <= last_ack_) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  for (uint64_t s = last_ack_ + 1; s <= seq; ++s) {
    Status d = txn.Delete(records_, SeqKey(s));
    if (!d.ok() && d.code() != StatusCode::kNotFound) return d;
  }
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, meta_, kLastAckKey, seq));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  last_ack_ = seq;
  return Status::OK();
}

Status Outbox::Reset() {
  std::lock_guard lock(write_mu_);
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  for (uint64_t s = last_ack_ + 1; s <= last_seq_; ++s) {
    Status d = txn.Delete(records_, SeqKey(s));
    if (!d.ok() && d.code() != StatusCode::kNotFound) return d;
  }
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, meta_, kLastSeqKey, 0));
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, meta_, kLastAckKey, 0));
  std::vector<std::string> positions;
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(positions_));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    while (c.Valid()) {
      positions.emplace_back(c.key());
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  for (const auto& name : positions) ANNEX_RETURN_IF_ERROR(txn.Delete(positions_, name));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  last_seq_ = 0;
  last_ack_ = 0;
  return Status::OK();
}

Result<std::vector<OutboxRecord>> Outbox::ReadFrom(uint64_t first, size_t max) const {
  std::vector<OutboxRecord> out;
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(records_));
  ANNEX_RETURN_IF_ERROR(cursor.Seek(SeqKey(std::max<uint64_t>(first, last_ack_ + 1))));
  while (cursor.Valid() && out.size() < max) {
    OutboxRecord r;
    r.seq = store::ReadBigEndian64(cursor.key());
    store::RecordReader reader(cursor.value());
    if (reader.version() != kRecordVersion) return Status::Corruption("outbox record of an unknown version");
    ANNEX_ASSIGN_OR_RETURN(r.kind, reader.Bytes());
    ANNEX_ASSIGN_OR_RETURN(r.payload, reader.Bytes());
    ANNEX_ASSIGN_OR_RETURN(r.created_unix_ms, reader.I64());
    ANNEX_RETURN_IF_ERROR(reader.Finish());
    out.push_back(std::move(r));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

uint64_t Outbox::last_sequence() const { return last_seq_; }
uint64_t Outbox::last_acknowledged() const { return last_ack_; }

}  // namespace annex::sync
