#pragma once
// Object headers: the stored representation headers and x-amz-meta-* user
// metadata read from a PUT / copy / multipart-create request, written back
// on GET/HEAD (with response-* query overrides), and the S3 additional
// checksums (x-amz-checksum-*) requested for an upload, with their types.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/headers.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

inline constexpr std::string_view kDefaultContentType = "binary/octet-stream";
inline constexpr size_t kMaxUserMetadataBytes = 2048;

// Content-Type (default binary/octet-stream), Content-Encoding without the
// aws-chunked token, Content-Disposition/-Language, Cache-Control, Expires
// and x-amz-meta-*. MetadataTooLarge past 2 KB of user metadata.
Result<ObjectMetadata> ParseObjectMetadata(const http::Headers& headers);

// x-amz-website-redirect-location of a write (PutObject, CopyObject,
// CreateMultipartUpload, a POST form's field): "" when absent;
// InvalidRedirectLocation unless it starts with "/", "http://" or "https://".
Result<std::string> ParseWebsiteRedirect(const http::Headers& headers);

// Everything GET/HEAD return about an object except Content-Length/Range:
// ETag, Last-Modified, Accept-Ranges, representation headers and metadata.
void AddObjectHeaders(const ObjectRecord& object, http::Headers& out);

// How an object's checksum covers it (x-amz-checksum-type): FULL_OBJECT, a
// checksum of all its bytes (every single PUT or copy, and multipart uploads
// of that type, whose CRC is combined from the parts'), or COMPOSITE, a
// checksum of the parts' checksums with a "-N" part count.
enum class ChecksumType { kComposite, kFullObject };
std::string_view ChecksumTypeName(ChecksumType type);  // "COMPOSITE"
std::optional<ChecksumType> ParseChecksumType(std::string_view name);
// S3's rules for multipart uploads: FULL_OBJECT needs a CRC (CRC32, CRC32C,
// CRC64NVME); COMPOSITE takes anything but CRC64NVME.
bool ChecksumTypeAllowed(crypto::ChecksumAlgorithm algorithm, ChecksumType type);
// The type of an upload whose CreateMultipartUpload names none: FULL_OBJECT
// for CRC64NVME, COMPOSITE for the others.
ChecksumType DefaultChecksumType(crypto::ChecksumAlgorithm algorithm);
// An object's type, told by its stored value (a composite one ends in "-N");
// nullopt when it has no checksum.
std::optional<ChecksumType> ObjectChecksumType(const ObjectRecord& object);
// The value without a composite's "-N" (GetObjectAttributes gives the count apart).
std::string_view ChecksumWithoutPartCount(std::string_view value);

// The x-amz-checksum-* and x-amz-checksum-type headers for the whole
// object, or the checksum of part `part` (1-based) of a multipart object
// when given: a composite upload's part checksum; a full-object upload's
// parts have none of their own but the object's when it is its only part.
void AddChecksumHeader(const ObjectRecord& object, std::optional<uint32_t> part, http::Headers& out);

// ChecksumAlgorithm and ChecksumType of a listed object (ListObjects,
// ListObjectVersions), when it has a checksum.
void AddListedChecksum(const ObjectRecord& object, http::XmlNode node);

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

// Whether a request carries an integrity check of its body, as S3 counts
// them where one is required: Content-MD5, or the checksum `checksum`
// (ParseChecksumRequest) names — an x-amz-checksum-* value, or an algorithm
// whose value comes as a trailer. x-amz-content-sha256 does not count.
bool HasIntegrityCheck(const http::Headers& headers, const ChecksumRequest& checksum);

// Checks Content-MD5 (base64 of the raw digest) when present: InvalidDigest
// if malformed, BadDigest if it differs from `md5_raw`.
Status VerifyContentMd5(const http::Headers& headers, std::string_view md5_raw);

// Parses Content-MD5 up front (InvalidDigest), so a bad header fails before
// the body is read.
Status CheckContentMd5Syntax(const http::Headers& headers);

}  // namespace annex::objectstore
