#pragma once
// Object versions: where each version of a key is kept, and what a write or
// a delete does to them under the bucket's versioning state, as S3 defines
// it (null versions while versioning is off or suspended, delete markers).
//
// The objects table holds each key's current version — its newest, which
// may be a delete marker. The versions table holds the noncurrent ones
// under EncodeObjectKey(bucket, key) + '\0' + BE64(~seq), so a key's
// versions sit together, newest first. A key has noncurrent versions only
// while it has a current one: the objects table alone says whether a bucket
// is empty, and a listing of versions walks it and looks beside each key.
//
// A version id is 16 hex digits of the version's sequence number (unix
// nanoseconds at its creation, kept increasing per key) and 16 random ones,
// so an id leads straight to its entry. The null version's id is "".
//
// A key has at most one null version. Its current record says where the
// noncurrent one is (NullVersionHint, records.h), so a write in a suspended
// bucket or a read of ?versionId=null looks there instead of walking the
// key's history (records from before the hint still walk it). Removing that
// version leaves the hint pointing at nothing, which reads as none.
//
// Every function here runs inside the caller's write transaction; a version
// is therefore either fully stored or absent. Data files a change stops
// referencing are appended to `freed`, for removal after the commit.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "services/objectstore/metadata_store.h"

namespace annex::objectstore {

inline constexpr std::string_view kNullVersionId = "null";

// "null" for the null version, else the id.
std::string_view VersionIdText(const ObjectRecord& record);

// A version id as a client sends it: "null" → "", a well-formed id → itself;
// InvalidArgument ("Invalid version id specified") otherwise.
Result<std::string> ParseVersionId(std::string_view text);

// The sequence number a well-formed, non-null id carries.
uint64_t VersionSeqOf(std::string_view version_id);

std::string EncodeVersionKey(std::string_view bucket, std::string_view key, uint64_t seq);

// The key's current entry, delete markers included. false when the key has
// no version at all.
Result<bool> LoadCurrentVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                std::string_view key, ObjectRecord& out, bool with_data = true);

// One version by id ("" for null), delete markers included; `is_current`
// says which table holds it. false when absent.
Result<bool> LoadVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                         std::string_view version_id, ObjectRecord& out, bool with_data = true,
                         bool* is_current = nullptr);

// Calls `visit` with each noncurrent version of `key`, newest first, until
// it returns false.
Status ForEachNoncurrentVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                std::string_view key, const std::function<Result<bool>(ObjectRecord&)>& visit,
                                bool with_data = false);

// Whether `key` has a noncurrent version: a look at its newest one only.
Result<bool> HasNoncurrentVersions(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                   std::string_view key);

// Stores `record` (an object or a delete marker) as the key's new current
// version, giving it its version id and sequence number. `current` is the
// key's current entry, if any. Enabled: the current version becomes
// noncurrent. Off or suspended: the new version is the null one, and
// replaces any null version the key had.
Status PutCurrentVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                         Versioning versioning, ObjectRecord& record, const ObjectRecord* current, uint64_t now_ns,
                         std::vector<std::string>& freed);

// Removes the key's current entry, `current` as loaded in this transaction,
// without leaving a marker (DeleteObject in a bucket that was never
// versioned).
Status RemoveCurrentVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                            const ObjectRecord& current, std::vector<std::string>& freed);

struct RemovedVersion {
  bool found = false;
  bool delete_marker = false;
};

// Removes one version for good. When it was the current one, the newest
// noncurrent version (if any) becomes current.
Result<RemovedVersion> RemoveVersion(store::WriteTxn& txn, const Tables& t, StatsDelta& delta,
                                     std::string_view bucket, std::string_view key, std::string_view version_id,
                                     std::vector<std::string>& freed);

// Writes a changed record (ACL, tags) back where its version is kept.
Status RewriteVersion(store::WriteTxn& txn, const Tables& t, std::string_view bucket, const ObjectRecord& record,
                      bool is_current);

}  // namespace annex::objectstore
