#pragma once
// The source of CopyObject and UploadPartCopy: the x-amz-copy-source header
// ("bucket/key", URL-encoded, optional ?versionId=), the caller's right to
// read it, and the x-amz-copy-source-if-* conditions (any failure → 412).

#include <string>
#include <string_view>

#include "services/objectstore/records.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

struct CopySource {
  std::string bucket;
  std::string key;
};

// InvalidArgument when the header is malformed or names no key.
Result<CopySource> ParseCopySource(std::string_view header);

// Reads the source object (with inline data), checking the caller may read
// it and that its copy-source conditions hold.
Result<ObjectRecord> LoadCopySource(S3Call& call, const CopySource& source);

}  // namespace annex::objectstore
