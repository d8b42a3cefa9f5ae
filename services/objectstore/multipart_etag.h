#pragma once
// The identifiers of a completed multipart upload: its composite ETag
// ("hex(md5(md5(part1) ‖ … ‖ md5(partN)))-N") and composite checksum
// ("base64(H(c1 ‖ … ‖ cN))-N"), as S3 computes them.

#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/crypto/checksum.h"

namespace annex::objectstore {

// `part_etags` are the parts' hex MD5s (unquoted), in order.
Result<std::string> CompositeEtag(const std::vector<std::string>& part_etags);

// `part_checksums` are the parts' base64 checksums, in order.
Result<std::string> CompositeChecksum(crypto::ChecksumAlgorithm algorithm,
                                      const std::vector<std::string>& part_checksums);

// A new upload id: 16 hex digits of the creation time (so uploads of one
// key list in initiation order) and 16 random hex digits.
std::string NewUploadId(int64_t now_ns);

}  // namespace annex::objectstore
