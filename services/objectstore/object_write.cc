#include "services/objectstore/object_write.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/conditionals.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {

Result<WriteConditions> ParseWriteConditions(const http::Headers& headers) {
  WriteConditions c;
  if (const std::string* v = headers.Get("if-none-match")) {
    if (Trim(*v) != "*") {
      return http::ApiStatus("NotImplemented", "A header you provided implies functionality that is not implemented");
    }
    c.if_none_match_any = true;
  }
  if (const std::string* v = headers.Get("if-match")) c.if_match = *v;
  return c;
}

void AddVersionIdHeader(const BucketRecord& bucket, const ObjectRecord& record, http::Headers& headers) {
  if (bucket.versioning == Versioning::kOff && record.version_id.empty()) return;
  headers.Set("x-amz-version-id", std::string(VersionIdText(record)));
}

ObjectRecord NewObjectRecord(std::string key, const BucketRecord& bucket, WrittenData& data, int64_t now_ms,
                             std::optional<crypto::ChecksumAlgorithm> checksum) {
  ObjectRecord r;
  r.key = std::move(key);
  r.size = data.size;
  r.modified_ms = now_ms;
  r.etag = HexEncode(data.md5);
  r.owner_id = bucket.owner_id;
  r.owner_name = bucket.owner_name;
  r.acl = CannedAclGrants("private", bucket.owner_id);
  if (checksum) {
    r.checksum_algorithm = std::string(crypto::ChecksumAlgorithmName(*checksum));
    r.checksum_value = data.checksum;
  }
  if (data.file_id.empty()) {
    r.inline_data = std::move(data.inline_data);
  } else {
    r.segments.push_back({data.file_id, data.size, ""});
  }
  return r;
}

std::vector<std::string> FileIdsOf(const ObjectRecord& record) {
  std::vector<std::string> ids;
  for (const auto& s : record.segments) ids.push_back(s.file_id);
  return ids;
}

Status StoreObjectRecord(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                         ObjectRecord& record, const WriteConditions& conditions,
                         std::vector<std::string>& replaced_files) {
  ANNEX_ASSIGN_OR_RETURN(auto bucket_record, GetBucket(txn, t, bucket));
  if (!bucket_record) return NoSuchBucket();
  ObjectRecord current;
  ANNEX_ASSIGN_OR_RETURN(bool has_current, LoadCurrentVersion(txn, t, bucket, record.key, current, /*with_data=*/false));
  // A delete marker is no object to the conditions.
  const bool exists = has_current && !current.delete_marker;
  if (conditions.if_none_match_any && exists) {
    return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  if (conditions.if_match) {
    if (!exists) return NoSuchKey();
    if (!EtagListMatches(*conditions.if_match, current.etag)) {
      return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    }
  }
  if (conditions.expect_current) {
    const ObjectRecord& want = *conditions.expect_current;
    if (!exists || current.etag != want.etag || FileIdsOf(current) != FileIdsOf(want) ||
        current.version_id != want.version_id) {
      return http::ApiStatus("OperationAborted",
                             "A conflicting conditional operation is currently in progress against this resource. "
                             "Please try again.");
    }
  }
  // A new version without a retention of its own gets the bucket's default.
  ApplyDefaultRetention(bucket_record->object_lock, record.modified_ms, record.lock);
  const uint64_t now_ns = static_cast<uint64_t>(record.modified_ms) * 1000000;
  return PutCurrentVersion(txn, t, delta, bucket, bucket_record->versioning, record, has_current ? &current : nullptr,
                           now_ns, replaced_files);
}

http::Task<Result<std::vector<std::string>>> CommitObject(S3Call& call, ObjectRecord& record,
                                                          const WriteConditions& conditions, bool owns_data) {
  const Tables& t = call.store.meta().tables();
  const std::string& bucket = call.bucket();
  std::vector<std::string> replaced;
  Status s = co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta& delta) {
    replaced.clear();
    return StoreObjectRecord(txn, t, delta, bucket, record, conditions, replaced);
  });
  if (!s.ok()) {
    if (owns_data) co_await call.store.RemoveDataFiles(call.ctx.blocking, FileIdsOf(record));
    co_return s;
  }
  co_return replaced;
}

}  // namespace annex::objectstore
