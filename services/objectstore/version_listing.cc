#include "services/objectstore/version_listing.h"

#include "appliance/core/strings.h"
#include "services/objectstore/bucket_key_scanner.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

// Which of a key's versions a page resumes after (the key marker's key).
class VersionSkip {
 public:
  VersionSkip() = default;
  explicit VersionSkip(const std::string& marker) : active_(true), marker_(marker) {}

  // True while `r` (visited newest first) is at or before the marker.
  bool Skips(const ObjectRecord& r) {
    if (!active_) return false;
    if (marker_.empty()) {  // the null version: skip through it
      if (r.version_id.empty()) active_ = false;
      return true;
    }
    if (r.version_seq > VersionSeqOf(marker_)) return true;
    active_ = false;
    return r.version_seq == VersionSeqOf(marker_);
  }

 private:
  bool active_ = false;
  std::string marker_;
};

}  // namespace

Result<VersionPage> ListVersionsPage(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                     const VersionListQuery& q) {
  VersionPage page;
  if (q.max_keys == 0) return page;  // S3: nothing, and not truncated
  ANNEX_ASSIGN_OR_RETURN(BucketKeyScanner scan, BucketKeyScanner::OpenObjects(txn, t.objects, bucket));
  ANNEX_RETURN_IF_ERROR(scan.Seek(q.key_marker > q.prefix ? q.key_marker : q.prefix));
  size_t count = 0;
  // Whether another entry still fits; marks the page truncated when not.
  auto room = [&] {
    if (count < q.max_keys) return true;
    page.truncated = true;
    return false;
  };
  auto emit = [&](ObjectRecord& r, bool latest) {
    page.next_key_marker = r.key;
    page.next_version_id_marker = std::string(VersionIdText(r));
    page.versions.push_back({std::move(r), latest});
    ++count;
  };
  ObjectRecord current;
  while (scan.Valid() && !page.truncated) {
    const std::string key = scan.key();
    if (!StartsWith(key, q.prefix)) break;  // sorted: nothing further can match
    const bool resumes_inside = q.version_id_marker && key == q.key_marker;
    if (!q.key_marker.empty() && (key < q.key_marker || (key == q.key_marker && !resumes_inside))) {
      ANNEX_RETURN_IF_ERROR(scan.Next());
      continue;
    }
    size_t cut = q.delimiter.empty() ? std::string::npos : key.find(q.delimiter, q.prefix.size());
    if (cut != std::string::npos) {
      std::string common = key.substr(0, cut + q.delimiter.size());
      if (common != q.key_marker) {
        if (!room()) break;
        page.common_prefixes.push_back(common);
        page.next_key_marker = common;
        page.next_version_id_marker.reset();
        ++count;
      }
      std::string next = PrefixSuccessor(common);
      if (next.empty()) break;
      ANNEX_RETURN_IF_ERROR(scan.Seek(next));
      continue;
    }
    VersionSkip skip = resumes_inside ? VersionSkip(*q.version_id_marker) : VersionSkip();
    ANNEX_RETURN_IF_ERROR(DecodeObjectInto(scan.value(), /*with_data=*/false, current));
    if (!skip.Skips(current)) {
      if (!room()) break;
      emit(current, /*latest=*/true);
    }
    ANNEX_RETURN_IF_ERROR(ForEachNoncurrentVersion(txn, t, bucket, key, [&](ObjectRecord& r) -> Result<bool> {
      if (skip.Skips(r)) return true;
      if (!room()) return false;
      emit(r, /*latest=*/false);
      return true;
    }));
    ANNEX_RETURN_IF_ERROR(scan.Next());
  }
  return page;
}

}  // namespace annex::objectstore
