#pragma once
// Committing a new object version (PutObject, CopyObject,
// CompleteMultipartUpload): inside one transaction, re-check that the bucket
// exists and the write's conditions hold, store the version as the bucket's
// versioning state says (versions.h), and adjust the stored object/byte
// totals. A replaced version's data files are removed only after the commit
// is durable — and after the response is sent.

#include <optional>
#include <string>
#include <vector>

#include "appliance/http/exchange.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/headers.h"
#include "services/objectstore/data_writer.h"
#include "services/objectstore/metadata_store.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

// S3 conditional writes: If-None-Match: * (create only) and If-Match: <etag>.
struct WriteConditions {
  bool if_none_match_any = false;
  std::optional<std::string> if_match;
  // Copy onto itself that reuses the data: the current version must still
  // be this one (same ETag and data files), else OperationAborted.
  const ObjectRecord* expect_current = nullptr;
};

// NotImplemented for an If-None-Match other than "*".
Result<WriteConditions> ParseWriteConditions(const http::Headers& headers);

// The transactional step: stores `record` as the key's new current version
// (versions.h), setting its version id. Appends the files of a replaced
// version that `record` no longer uses to `replaced_files`.
Status StoreObjectRecord(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                         ObjectRecord& record, const WriteConditions& conditions,
                         std::vector<std::string>& replaced_files);

// Commits `record`, whose data is already durable, and sets its version id.
// When `owns_data`, a failed commit removes the record's data files (nothing
// else points at them). Returns the replaced version's files for
// RemoveDataFiles.
http::Task<Result<std::vector<std::string>>> CommitObject(S3Call& call, ObjectRecord& record,
                                                          const WriteConditions& conditions, bool owns_data);

// x-amz-version-id of a response about `record`: set once the bucket has
// ever been versioned (or the record carries an id).
void AddVersionIdHeader(const BucketRecord& bucket, const ObjectRecord& record, http::Headers& headers);

// The record of a new object in `bucket` whose bytes `data` just wrote
// (moved from), with the checksum computed as `checksum` asked; the caller
// adds ACL, metadata and tags.
ObjectRecord NewObjectRecord(std::string key, const BucketRecord& bucket, WrittenData& data, int64_t now_ms,
                             std::optional<crypto::ChecksumAlgorithm> checksum);

// The ids of an object's data files.
std::vector<std::string> FileIdsOf(const ObjectRecord& record);

}  // namespace annex::objectstore
