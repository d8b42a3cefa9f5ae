#include "services/objectstore/bucket_key_scanner.h"

#include <algorithm>

#include "services/objectstore/object_key.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {
namespace {

Result<std::string> ObjectKeyOf(std::string_view value) {
  ANNEX_ASSIGN_OR_RETURN(ObjectRecord r, DecodeObject(value, /*with_data=*/false));
  return std::move(r.key);
}

}  // namespace

Result<BucketKeyScanner> BucketKeyScanner::Open(const store::ReadTxn& txn, store::Table table,
                                                std::string_view bucket, size_t suffix_len,
                                                FullKeyFn full_key_of) {
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(table));
  return BucketKeyScanner(std::move(cursor), BucketKeyPrefix(bucket), suffix_len, std::move(full_key_of));
}

Result<BucketKeyScanner> BucketKeyScanner::OpenObjects(const store::ReadTxn& txn, store::Table objects,
                                                       std::string_view bucket) {
  return Open(txn, objects, bucket, 0, ObjectKeyOf);
}

bool BucketKeyScanner::ObjectPart(std::string_view storage_key, std::string_view& out) const {
  if (storage_key.size() < prefix_.size() + suffix_len_ || storage_key.substr(0, prefix_.size()) != prefix_) {
    return false;
  }
  out = storage_key.substr(prefix_.size(), storage_key.size() - prefix_.size() - suffix_len_);
  return true;
}

Status BucketKeyScanner::Seek(std::string_view key) {
  // Long keys live after their truncated prefix; land at the start of that
  // group and skip forward inside it.
  std::string target = prefix_;
  target.append(key.substr(0, std::min(key.size(), kMaxInlineKeyBytes)));
  ANNEX_RETURN_IF_ERROR(cursor_.Seek(target));
  ANNEX_RETURN_IF_ERROR(LoadGroup());
  while (Valid() && this->key() < key) {
    ANNEX_RETURN_IF_ERROR(Next());
  }
  return Status::OK();
}

Status BucketKeyScanner::Next() {
  if (!Valid()) return Status::OK();
  if (++index_ < group_.size()) return Status::OK();
  return LoadGroup();
}

Status BucketKeyScanner::LoadGroup() {
  group_.clear();
  index_ = 0;
  std::string_view first;
  if (!cursor_.Valid() || !ObjectPart(cursor_.key(), first)) return Status::OK();
  if (first.size() <= kMaxInlineKeyBytes) {
    group_.push_back({std::string(first), std::string(cursor_.key()), cursor_.value()});
    return cursor_.Next();
  }
  const std::string truncated(first.substr(0, kMaxInlineKeyBytes));
  while (cursor_.Valid()) {
    std::string_view part;
    if (!ObjectPart(cursor_.key(), part) || part.size() <= kMaxInlineKeyBytes ||
        part.substr(0, kMaxInlineKeyBytes) != truncated) {
      break;
    }
    ANNEX_ASSIGN_OR_RETURN(std::string full, full_key_of_(cursor_.value()));
    group_.push_back({std::move(full), std::string(cursor_.key()), cursor_.value()});
    ANNEX_RETURN_IF_ERROR(cursor_.Next());
  }
  std::sort(group_.begin(), group_.end(), [](const Entry& a, const Entry& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.storage_key < b.storage_key;
  });
  return Status::OK();
}

}  // namespace annex::objectstore
