#pragma once
// ReceiveBody: streams a request body (PutObject, UploadPart) through a
// DataWriter in fixed-size chunks and verifies Content-MD5 and the
// requested S3 checksum (header or aws-chunked trailer) before the data is
// published. On any error nothing is left on disk. ReadCheckedBody: the
// small XML body of an operation S3 requires an integrity check for.

#include "appliance/http/exchange.h"
#include "services/objectstore/data_writer.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

// Largest single PUT S3 accepts.
inline constexpr uint64_t kMaxPutSize = uint64_t{5} << 30;

// `inline_threshold` 0 forces a data file; a `data_key` stores the bytes
// encrypted (sealed_data.h).
http::Task<Result<WrittenData>> ReceiveBody(S3Call& call, size_t inline_threshold, const ChecksumRequest& checksum,
                                            std::string data_key = {});

// The whole body (at most `limit` bytes) of an operation whose body S3
// requires an integrity check for — DeleteObjects, PutBucketCors,
// PutBucketLifecycleConfiguration, PutObjectLockConfiguration,
// PutObjectRetention, PutObjectLegalHold: Content-MD5 or a checksum
// (HasIntegrityCheck), else InvalidRequest "Missing required header for this
// request: Content-MD5" before the body is read; either is verified against
// the body (InvalidDigest, BadDigest).
http::Task<Result<std::string>> ReadCheckedBody(S3Call& call, size_t limit);

}  // namespace annex::objectstore
