#pragma once
// BucketKeyScanner: walks one bucket's entries of a per-bucket table (objects
// or uploads) in the true byte order of the full object keys.
//
// Entries are stored under EncodeObjectKey(bucket, key) + `suffix_len` more
// bytes (0 for objects; "\0<upload id>" for uploads). Keys longer than
// kMaxInlineKeyBytes are stored truncated + hashed (object_key.h); the
// scanner gathers each run of such entries sharing a truncated prefix and
// re-sorts it by full key, read from the record through `full_key_of`.
//
// Views returned by value() point into the read transaction's memory map and
// stay valid while that transaction lives. Not thread-safe.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/store/lmdb_env.h"

namespace annex::objectstore {

class BucketKeyScanner {
 public:
  // Returns the full object key stored in a record (only asked for entries
  // whose storage key was truncated).
  using FullKeyFn = std::function<Result<std::string>(std::string_view value)>;

  static Result<BucketKeyScanner> Open(const store::ReadTxn& txn, store::Table table, std::string_view bucket,
                                       size_t suffix_len, FullKeyFn full_key_of);
  // A scanner of the objects table (records.h: ObjectRecord values).
  static Result<BucketKeyScanner> OpenObjects(const store::ReadTxn& txn, store::Table objects, std::string_view bucket);

  // Positions at the first entry whose full key is >= `key`.
  Status Seek(std::string_view key);
  Status Next();
  bool Valid() const { return index_ < group_.size(); }
  // The full object key of the current entry.
  const std::string& key() const { return group_[index_].key; }
  std::string_view value() const { return group_[index_].value; }

 private:
  struct Entry {
    std::string key;
    std::string storage_key;
    std::string_view value;
  };

  BucketKeyScanner(store::Cursor cursor, std::string prefix, size_t suffix_len, FullKeyFn full_key_of)
      : cursor_(std::move(cursor)), prefix_(std::move(prefix)), suffix_len_(suffix_len),
        full_key_of_(std::move(full_key_of)) {}
  // Reads the group starting at the cursor; leaves the cursor past it.
  Status LoadGroup();
  // The stored object-key bytes of a storage key in this bucket, or false
  // when the cursor left the bucket.
  bool ObjectPart(std::string_view storage_key, std::string_view& out) const;

  store::Cursor cursor_;
  std::string prefix_;
  size_t suffix_len_;
  FullKeyFn full_key_of_;
  std::vector<Entry> group_;
  size_t index_ = 0;
};

}  // namespace annex::objectstore
