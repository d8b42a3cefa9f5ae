#pragma once
// The source of CopyObject and UploadPartCopy: the x-amz-copy-source header
// ("bucket/key", URL-encoded, optional ?versionId=), the caller's right to
// read it, and the x-amz-copy-source-if-* conditions (any failure → 412).

#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "services/objectstore/records.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

struct CopySource {
  std::string bucket;
  std::string key;
  std::optional<std::string> version_id;  // ?versionId= ("" for null); else the current version
};

// InvalidArgument when the header is malformed or names no key.
Result<CopySource> ParseCopySource(std::string_view header);

// Reads the source version (with inline data), checking the caller may read
// it and that its copy-source conditions hold. A delete marker is no
// source: NoSuchKey when it is the current version, InvalidRequest when
// named by id. `data_keys` gets what decrypts it (object_encryption.h; an
// SSE-C source needs the x-amz-copy-source-server-side-encryption-customer-*
// headers).
Result<ObjectRecord> LoadCopySource(S3Call& call, const CopySource& source, std::vector<std::string>& data_keys);

// x-amz-copy-source-version-id of a copy's response, when the source has a
// version id or was named by one.
void AddCopySourceVersionHeader(const CopySource& source, const ObjectRecord& copied, http::Headers& headers);

}  // namespace annex::objectstore
