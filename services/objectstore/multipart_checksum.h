#pragma once
// The checksums of CompleteMultipartUpload, by S3's rules. The part list
// may name each part's checksum (<ChecksumCRC32> …): it must be the stored
// one, and a composite upload must name every part's. The object's checksum
// is made from the parts' without reading data: for a COMPOSITE upload a
// hash of their checksums with a "-N" count, for a FULL_OBJECT one their
// CRCs combined into the CRC of every byte. A checksum the client sends
// for the object (x-amz-checksum-<algorithm>), its x-amz-checksum-type and
// x-amz-mp-object-size must agree with what was assembled.

#include <string>
#include <utility>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

// The checksum elements of one <Part>: algorithm name ("CRC32") and value.
using NamedPartChecksums = std::vector<std::pair<std::string, std::string>>;

// Checks what the request names for part `stored` against it: InvalidPart
// on a different value (or any value when the upload has no algorithm);
// for a composite upload, BadDigest when only another algorithm's is named
// and InvalidRequest when none is.
Status CheckCompletedPartChecksum(const UploadRecord& upload, const NamedPartChecksums& named,
                                  const PartRecord& stored);

// The object's checksum from the chosen parts, in order: empty when the
// upload has no algorithm or a part has no checksum (parts stored before
// checksums were kept for every part of such an upload).
Result<std::string> MultipartObjectChecksum(const UploadRecord& upload, const std::vector<const PartRecord*>& parts);

// The request's x-amz-mp-object-size (InvalidRequest when it differs from
// the object's size), x-amz-checksum-type (BadDigest when it is not the
// upload's) and x-amz-checksum-<algorithm> (BadDigest when it is not the
// assembled checksum) against `object`, the assembled record.
Status VerifyCompletionHeaders(const http::Headers& headers, const UploadRecord& upload, const ObjectRecord& object);

}  // namespace annex::objectstore
