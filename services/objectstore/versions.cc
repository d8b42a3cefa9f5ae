#include "services/objectstore/versions.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/random.h"
#include "appliance/store/record.h"
#include "services/objectstore/object_key.h"

namespace annex::objectstore {
namespace {

constexpr size_t kVersionIdLength = 32;  // 16 hex digits of sequence, 16 random

std::string NoncurrentPrefix(std::string_view bucket, std::string_view key) {
  std::string out = EncodeObjectKey(bucket, key);
  out.push_back('\0');
  return out;
}

void AddStats(StatsDelta& delta, const ObjectRecord& r, int sign) {
  if (r.delete_marker) return;
  delta.objects += sign;
  delta.bytes += sign * static_cast<int64_t>(r.size);
}

void FreeFiles(ObjectRecord& r, std::vector<std::string>& freed) {
  for (auto& s : r.segments) freed.push_back(std::move(s.file_id));
  r.segments.clear();
}

Status PutNoncurrent(store::WriteTxn& txn, const Tables& t, std::string_view bucket, const ObjectRecord& r) {
  return txn.Put(t.versions, EncodeVersionKey(bucket, r.key, r.version_seq), EncodeObject(r));
}

// Moves the key's current entry, as stored (inline data included), into
// the versions table.
Status MakeNoncurrent(store::WriteTxn& txn, const Tables& t, std::string_view bucket, const ObjectRecord& current) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.objects, EncodeObjectKey(bucket, current.key)));
  if (!value) return Status::Internal("current version vanished inside its transaction");
  std::string stored(*value);  // the view ends at the next write
  return txn.Put(t.versions, EncodeVersionKey(bucket, current.key, current.version_seq), stored);
}

// Calls `visit` at each entry of `key`'s noncurrent versions, newest first,
// with the cursor on it and its record decoded, until it returns false.
using EntryVisitor = std::function<Result<bool>(const store::Cursor&, ObjectRecord&)>;
Status ScanNoncurrent(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                      bool with_data, const EntryVisitor& visit) {
  std::string prefix = NoncurrentPrefix(bucket, key);
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.versions));
  ANNEX_RETURN_IF_ERROR(c.Seek(prefix));
  ObjectRecord r;
  while (c.Valid() && StartsWith(c.key(), prefix)) {
    // A 384-byte key's prefix can also start a longer key's hashed entries.
    if (c.key().size() == prefix.size() + 8) {
      ANNEX_RETURN_IF_ERROR(DecodeObjectInto(c.value(), with_data, r));
      if (r.key == key) {
        ANNEX_ASSIGN_OR_RETURN(bool more, visit(c, r));
        if (!more) break;
      }
    }
    ANNEX_RETURN_IF_ERROR(c.Next());
  }
  return Status::OK();
}

// Removes `victim`, a version of the key loaded in this transaction. When it
// was the current one, the newest noncurrent version (if any) takes its place.
Status RemoveLoadedVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                           ObjectRecord& victim, bool is_current, std::vector<std::string>& freed) {
  AddStats(delta, victim, -1);
  if (!is_current) {
    ANNEX_RETURN_IF_ERROR(txn.Delete(t.versions, EncodeVersionKey(bucket, victim.key, victim.version_seq)));
    FreeFiles(victim, freed);
    return Status::OK();
  }
  // Copied as stored (inline data included): the views end at the next write.
  std::string promoted_key;
  std::string promoted_value;
  ANNEX_RETURN_IF_ERROR(ScanNoncurrent(txn, t, bucket, victim.key, /*with_data=*/false,
                                       [&](const store::Cursor& c, ObjectRecord&) -> Result<bool> {
                                         promoted_key.assign(c.key());
                                         promoted_value.assign(c.value());
                                         return false;
                                       }));
  std::string object_key = EncodeObjectKey(bucket, victim.key);
  if (promoted_key.empty()) {
    ANNEX_RETURN_IF_ERROR(txn.Delete(t.objects, object_key));
  } else {
    ANNEX_RETURN_IF_ERROR(txn.Delete(t.versions, promoted_key));
    ANNEX_RETURN_IF_ERROR(txn.Put(t.objects, object_key, promoted_value));
  }
  FreeFiles(victim, freed);
  return Status::OK();
}

// The key's noncurrent null version, if it has one, found through `hint`
// from the key's current record; a hint from before there were hints means
// a walk through the key's versions.
Result<bool> FindNoncurrentNull(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                std::string_view key, NullVersionHint hint, ObjectRecord& out, bool with_data) {
  if (hint.kind == NullVersionHint::Kind::kNone) return false;
  if (hint.kind == NullVersionHint::Kind::kAt) {
    // Removing the null version leaves the hint as it was: whatever is (or
    // is no longer) at that place decides. A key has at most one null version.
    ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.versions, EncodeVersionKey(bucket, key, hint.seq)));
    if (!value) return false;
    ANNEX_RETURN_IF_ERROR(DecodeObjectInto(*value, with_data, out));
    return out.key == key && out.version_id.empty();
  }
  bool found = false;
  ANNEX_RETURN_IF_ERROR(ForEachNoncurrentVersion(
      txn, t, bucket, key,
      [&](ObjectRecord& r) -> Result<bool> {
        if (!r.version_id.empty()) return true;
        out = std::move(r);
        found = true;
        return false;
      },
      with_data));
  return found;
}

}  // namespace

std::string_view VersionIdText(const ObjectRecord& record) {
  return record.version_id.empty() ? kNullVersionId : std::string_view(record.version_id);
}

Result<std::string> ParseVersionId(std::string_view text) {
  if (text == kNullVersionId) return std::string();
  bool hex = text.size() == kVersionIdLength &&
             std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!hex) return http::ApiStatus("InvalidArgument", "Invalid version id specified");
  return std::string(text);
}

uint64_t VersionSeqOf(std::string_view version_id) {
  uint64_t seq = 0;
  for (char c : version_id.substr(0, 16)) seq = seq * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return seq;
}

std::string EncodeVersionKey(std::string_view bucket, std::string_view key, uint64_t seq) {
  std::string out = NoncurrentPrefix(bucket, key);
  store::AppendBigEndian64(out, ~seq);  // newest first
  return out;
}

Result<bool> LoadCurrentVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                std::string_view key, ObjectRecord& out, bool with_data) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.objects, EncodeObjectKey(bucket, key)));
  if (!value) return false;
  ANNEX_RETURN_IF_ERROR(DecodeObjectInto(*value, with_data, out));
  if (out.key != key) return Status::Corruption("object key hash collision or corrupt record");
  return true;
}

Result<bool> LoadVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                         std::string_view version_id, ObjectRecord& out, bool with_data, bool* is_current) {
  if (is_current) *is_current = false;
  ANNEX_ASSIGN_OR_RETURN(bool has_current, LoadCurrentVersion(txn, t, bucket, key, out, with_data));
  if (!has_current) return false;  // no current version: no noncurrent ones either
  if (out.version_id == version_id) {
    if (is_current) *is_current = true;
    return true;
  }
  if (version_id.empty()) return FindNoncurrentNull(txn, t, bucket, key, out.noncurrent_null, out, with_data);
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.versions, EncodeVersionKey(bucket, key, VersionSeqOf(version_id))));
  if (!value) return false;
  ANNEX_RETURN_IF_ERROR(DecodeObjectInto(*value, with_data, out));
  return out.key == key && out.version_id == version_id;
}

Status ForEachNoncurrentVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                std::string_view key, const std::function<Result<bool>(ObjectRecord&)>& visit,
                                bool with_data) {
  return ScanNoncurrent(txn, t, bucket, key, with_data,
                        [&](const store::Cursor&, ObjectRecord& r) -> Result<bool> { return visit(r); });
}

Result<bool> HasNoncurrentVersions(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                   std::string_view key) {
  bool any = false;
  ANNEX_RETURN_IF_ERROR(ScanNoncurrent(txn, t, bucket, key, /*with_data=*/false,
                                       [&](const store::Cursor&, ObjectRecord&) -> Result<bool> {
                                         any = true;
                                         return false;
                                       }));
  return any;
}

Status PutCurrentVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                         Versioning versioning, ObjectRecord& record, const ObjectRecord* current, uint64_t now_ns,
                         std::vector<std::string>& freed) {
  record.version_seq = current ? std::max(now_ns, current->version_seq + 1) : now_ns;
  record.version_id.clear();
  if (versioning == Versioning::kEnabled) {
    char seq_hex[17];
    snprintf(seq_hex, sizeof(seq_hex), "%016llx", static_cast<unsigned long long>(record.version_seq));
    record.version_id = std::string(seq_hex) + os::RandomHex(8);
  }
  // The new current record learns where the key's noncurrent null version
  // is from the one it replaces (none without one), and from what this
  // write does to it.
  record.noncurrent_null = current ? current->noncurrent_null : NullVersionHint{NullVersionHint::Kind::kNone, 0};
  if (current) {
    ObjectRecord old = *current;
    if (old.version_id.empty() && record.version_id.empty()) {
      // The null version is replaced. Its files may still be the new
      // record's own (a copy onto itself that only changes metadata).
      std::unordered_set<std::string> kept;
      for (const auto& s : record.segments) kept.insert(s.file_id);
      for (auto& s : old.segments) {
        if (!kept.count(s.file_id)) freed.push_back(std::move(s.file_id));
      }
      AddStats(delta, old, -1);
    } else {
      ANNEX_RETURN_IF_ERROR(MakeNoncurrent(txn, t, bucket, old));
      if (old.version_id.empty()) record.noncurrent_null = {NullVersionHint::Kind::kAt, old.version_seq};
    }
  }
  if (record.version_id.empty() && versioning != Versioning::kOff && current && !current->version_id.empty()) {
    ObjectRecord null_version;
    ANNEX_ASSIGN_OR_RETURN(bool has_null, FindNoncurrentNull(txn, t, bucket, record.key, current->noncurrent_null,
                                                             null_version, /*with_data=*/false));
    if (has_null) {
      ANNEX_RETURN_IF_ERROR(txn.Delete(t.versions, EncodeVersionKey(bucket, record.key, null_version.version_seq)));
      AddStats(delta, null_version, -1);
      FreeFiles(null_version, freed);
    }
    record.noncurrent_null = {NullVersionHint::Kind::kNone, 0};
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(t.objects, EncodeObjectKey(bucket, record.key), EncodeObject(record)));
  AddStats(delta, record, +1);
  return Status::OK();
}

Status RemoveCurrentVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                            const ObjectRecord& current, std::vector<std::string>& freed) {
  ObjectRecord victim = current;
  return RemoveLoadedVersion(txn, t, delta, bucket, victim, /*is_current=*/true, freed);
}

Result<RemovedVersion> RemoveVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta,
                                     std::string_view bucket, std::string_view key, std::string_view version_id,
                                     std::vector<std::string>& freed) {
  RemovedVersion out;
  ObjectRecord victim;
  bool is_current = false;
  ANNEX_ASSIGN_OR_RETURN(out.found, LoadVersion(txn, t, bucket, key, version_id, victim, /*with_data=*/false,
                                                &is_current));
  if (!out.found) return out;
  out.delete_marker = victim.delete_marker;
  ANNEX_RETURN_IF_ERROR(RemoveLoadedVersion(txn, t, delta, bucket, victim, is_current, freed));
  return out;
}

Status RewriteVersion(store::WriteTxn& txn, const Tables& t, std::string_view bucket, const ObjectRecord& record,
                      bool is_current) {
  if (is_current) return txn.Put(t.objects, EncodeObjectKey(bucket, record.key), EncodeObject(record));
  return PutNoncurrent(txn, t, bucket, record);
}

}  // namespace annex::objectstore
