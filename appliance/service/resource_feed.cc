#include "appliance/service/resource_feed.h"

#include "appliance/store/counter.h"
#include "appliance/store/record.h"

namespace annex::service {
namespace {

using store::SeqKey;

constexpr uint8_t kVersion = 1;
constexpr std::string_view kLastSeqKey = "last_seq";

std::string ResourceKey(std::string_view kind, std::string_view id) {
  std::string key(kind);
  key.push_back('\0');
  key.append(id);
  return key;
}

struct VersionRow {
  uint64_t seq = 0;
  uint64_t version = 0;
  bool deleted = false;
};

Result<std::optional<VersionRow>> ReadVersion(const store::ReadTxn& txn, store::Table table, std::string_view key) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table, key));
  if (!value) return std::optional<VersionRow>();
  store::RecordReader r(*value);
  VersionRow row;
  ANNEX_ASSIGN_OR_RETURN(row.seq, r.U64());
  ANNEX_ASSIGN_OR_RETURN(row.version, r.U64());
  ANNEX_ASSIGN_OR_RETURN(row.deleted, r.Bool());
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return std::optional<VersionRow>(row);
}

}  // namespace

Result<std::unique_ptr<ResourceFeed>> ResourceFeed::Open(store::LmdbEnv& env) {
  ANNEX_ASSIGN_OR_RETURN(store::Table feed, env.OpenTable("resource_feed"));
  ANNEX_ASSIGN_OR_RETURN(store::Table versions, env.OpenTable("resource_versions"));
  ANNEX_ASSIGN_OR_RETURN(store::Table meta, env.OpenTable("resource_feed_meta"));
  return std::unique_ptr<ResourceFeed>(new ResourceFeed(feed, versions, meta));
}

Result<uint64_t> ResourceFeed::Head(const store::ReadTxn& txn) const {
  return store::ReadCounter(txn, meta_, kLastSeqKey);
}

Result<bool> ResourceFeed::Empty(const store::ReadTxn& txn) const {
  ANNEX_ASSIGN_OR_RETURN(uint64_t head, Head(txn));
  return head == 0;
}

Status ResourceFeed::Changed(store::WriteTxn& txn, std::string_view kind, std::string_view id, bool deleted) {
  // LMDB has one writer at a time: reading and bumping the counter here is race-free.
  ANNEX_ASSIGN_OR_RETURN(uint64_t seq, Head(txn));
  ++seq;
  std::string key = ResourceKey(kind, id);
  ANNEX_ASSIGN_OR_RETURN(std::optional<VersionRow> previous, ReadVersion(txn, versions_, key));
  uint64_t version = 1;
  if (previous) {
    // One feed row per resource: its older position goes.
    Status s = txn.Delete(feed_, SeqKey(previous->seq));
    if (!s.ok() && !s.IsNotFound()) return s;
    version = previous->version + 1;
  }
  store::RecordWriter row(kVersion);
  row.U64(seq).U64(version).Bool(deleted);
  ANNEX_RETURN_IF_ERROR(txn.Put(versions_, key, row.Finish()));
  ANNEX_RETURN_IF_ERROR(txn.Put(feed_, SeqKey(seq), key));
  return store::WriteCounter(txn, meta_, kLastSeqKey, seq);
}

Result<ResourceFeed::Page> ResourceFeed::Since(const store::ReadTxn& txn, uint64_t cursor, size_t max) const {
  Page page;
  page.cursor = cursor;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(feed_));
  ANNEX_RETURN_IF_ERROR(c.Seek(SeqKey(cursor + 1)));
  while (c.Valid()) {
    if (page.entries.size() >= max) {
      page.more = true;
      break;
    }
    if (c.key().size() != 8) return Status::Corruption("resource_feed key");
    std::string_view key = c.value();
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos) return Status::Corruption("resource_feed value");
    ANNEX_ASSIGN_OR_RETURN(std::optional<VersionRow> row, ReadVersion(txn, versions_, key));
    if (!row) return Status::Corruption("resource_feed entry without a version");
    page.cursor = store::ReadBigEndian64(c.key());
    if (cursor != 0 || !row->deleted) {
      page.entries.push_back(
          {page.cursor, std::string(key.substr(0, nul)), std::string(key.substr(nul + 1)), row->version, row->deleted});
    }
    ANNEX_RETURN_IF_ERROR(c.Next());
  }
  return page;
}

}  // namespace annex::service
