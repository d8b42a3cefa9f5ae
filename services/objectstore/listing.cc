#include "services/objectstore/listing.h"

#include "appliance/core/strings.h"
#include "services/objectstore/bucket_key_scanner.h"
#include "services/objectstore/object_key.h"

namespace annex::objectstore {

Result<ListPage> ListObjectsPage(const store::ReadTxn& txn, store::Table objects, std::string_view bucket,
                                 const ListQuery& q) {
  ListPage page;
  if (q.max_keys == 0) return page;  // S3: nothing, and not truncated
  ANNEX_ASSIGN_OR_RETURN(BucketKeyScanner scan, BucketKeyScanner::OpenObjects(txn, objects, bucket));
  ANNEX_RETURN_IF_ERROR(scan.Seek(q.marker > q.prefix ? q.marker : q.prefix));
  size_t count = 0;
  ObjectRecord record;
  while (scan.Valid()) {
    const std::string& key = scan.key();
    if (!StartsWith(key, q.prefix)) break;  // sorted: nothing further can match
    if (!q.marker.empty() && key <= q.marker) {
      ANNEX_RETURN_IF_ERROR(scan.Next());
      continue;
    }
    // A key whose current version is a delete marker is not listed, and
    // does not make a common prefix on its own. Only a bucket that was
    // versioned has markers.
    bool decoded = false;
    if (q.may_have_delete_markers) {
      ANNEX_RETURN_IF_ERROR(DecodeObjectInto(scan.value(), /*with_data=*/false, record));
      decoded = true;
      if (record.delete_marker) {
        ANNEX_RETURN_IF_ERROR(scan.Next());
        continue;
      }
    }
    size_t cut = q.delimiter.empty() ? std::string::npos : key.find(q.delimiter, q.prefix.size());
    if (cut != std::string::npos) {
      std::string common = key.substr(0, cut + q.delimiter.size());
      if (common != q.marker) {
        if (count == q.max_keys) {
          page.truncated = true;
          break;
        }
        page.common_prefixes.push_back(common);
        page.last_entry = common;
        ++count;
      }
      std::string next = PrefixSuccessor(common);
      if (next.empty()) break;
      ANNEX_RETURN_IF_ERROR(scan.Seek(next));
      continue;
    }
    if (count == q.max_keys) {
      page.truncated = true;
      break;
    }
    if (!decoded) ANNEX_RETURN_IF_ERROR(DecodeObjectInto(scan.value(), /*with_data=*/false, record));
    page.last_entry = key;
    page.objects.push_back(std::move(record));
    ++count;
    ANNEX_RETURN_IF_ERROR(scan.Next());
  }
  return page;
}

}  // namespace annex::objectstore
