#include "services/objectstore/object_write.h"

#include <unordered_set>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/conditionals.h"
#include "services/objectstore/object_key.h"

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

std::vector<std::string> FileIdsOf(const ObjectRecord& record) {
  std::vector<std::string> ids;
  for (const auto& s : record.segments) ids.push_back(s.file_id);
  return ids;
}

Status StoreObjectRecord(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                         const ObjectRecord& record, const WriteConditions& conditions,
                         std::vector<std::string>& replaced_files) {
  ANNEX_ASSIGN_OR_RETURN(auto bucket_record, GetBucket(txn, t, bucket));
  if (!bucket_record) return NoSuchBucket();
  ANNEX_ASSIGN_OR_RETURN(auto old, GetObject(txn, t, bucket, record.key, /*with_data=*/false));
  if (conditions.if_none_match_any && old) {
    return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  if (conditions.if_match) {
    if (!old) return NoSuchKey();
    if (!EtagListMatches(*conditions.if_match, old->etag)) {
      return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    }
  }
  if (conditions.expect_current) {
    const ObjectRecord& want = *conditions.expect_current;
    if (!old || old->etag != want.etag || FileIdsOf(*old) != FileIdsOf(want)) {
      return http::ApiStatus("OperationAborted",
                             "A conflicting conditional operation is currently in progress against this resource. "
                             "Please try again.");
    }
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(t.objects, EncodeObjectKey(bucket, record.key), EncodeObject(record)));
  delta.objects += old ? 0 : 1;
  delta.bytes += static_cast<int64_t>(record.size) - (old ? static_cast<int64_t>(old->size) : 0);
  if (old) {
    std::vector<std::string> ids = FileIdsOf(record);
    std::unordered_set<std::string> kept(ids.begin(), ids.end());
    for (auto& s : old->segments) {
      if (!kept.count(s.file_id)) replaced_files.push_back(std::move(s.file_id));
    }
  }
  return Status::OK();
}

http::Task<Result<std::vector<std::string>>> CommitObject(S3Call& call, const ObjectRecord& record,
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
