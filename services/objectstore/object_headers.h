#pragma once
// Object headers: the stored representation headers and x-amz-meta-* user
// metadata read from a PUT / copy / multipart-create request, written back
// on GET/HEAD (with response-* query overrides), and the S3 additional
// checksums (x-amz-checksum-*) requested for an upload.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/headers.h"
#include "appliance/http/query.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

inline constexpr std::string_view kDefaultContentType = "binary/octet-stream";
inline constexpr size_t kMaxUserMetadataBytes = 2048;

// Content-Type (default binary/octet-stream), Content-Encoding without the
// aws-chunked token, Content-Disposition/-Language, Cache-Control, Expires
// and x-amz-meta-*. MetadataTooLarge past 2 KB of user metadata.
Result<ObjectMetadata> ParseObjectMetadata(const http::Headers& headers);

// Everything GET/HEAD return about an object except Content-Length/Range:
// ETag, Last-Modified, Accept-Ranges, representation headers and metadata.
void AddObjectHeaders(const ObjectRecord& object, http::Headers& out);

// The x-amz-checksum-* header for the whole object, or for part `part`
// (1-based) of a multipart object when given.
void AddChecksumHeader(const ObjectRecord& object, std::optional<uint32_t> part, http::Headers& out);

// response-content-type & co. replace the stored values (GET only).
void ApplyResponseOverrides(const http::QueryParams& query, http::Headers& out);

// The checksum a request asks for: an x-amz-checksum-<alg> header value, or
// an algorithm (x-amz-sdk-checksum-algorithm, x-amz-checksum-algorithm, or a
// trailer announced in x-amz-trailer) whose value arrives as a trailer.
struct ChecksumRequest {
  std::optional<crypto::ChecksumAlgorithm> algorithm;
  std::optional<std::string> expected;  // base64, from the header
};
Result<ChecksumRequest> ParseChecksumRequest(const http::Headers& headers);

// Compares the computed checksum with the header or trailer value; BadDigest
// ("The CRC32 you specified did not match the calculated checksum.").
Status VerifyChecksum(const ChecksumRequest& request, const http::Headers& trailers, std::string_view computed);

// Checks Content-MD5 (base64 of the raw digest) when present: InvalidDigest
// if malformed, BadDigest if it differs from `md5_raw`.
Status VerifyContentMd5(const http::Headers& headers, std::string_view md5_raw);

// Parses Content-MD5 up front (InvalidDigest), so a bad header fails before
// the body is read.
Status CheckContentMd5Syntax(const http::Headers& headers);

}  // namespace annex::objectstore
