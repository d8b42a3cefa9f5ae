#pragma once
// The identifiers of a completed multipart upload: its composite ETag
// ("hex(md5(md5(part1) ‖ … ‖ md5(partN)))-N") and checksum — composite
// ("base64(H(c1 ‖ … ‖ cN))-N") or full-object (the CRC of all the bytes,
// combined from the parts' CRCs) — as S3 computes them.

#include <cstdint>
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

// The CRC of the whole object from its parts' (base64, in order) and sizes,
// without the data (crypto::CrcCombine). REQUIRES: IsCrc(algorithm).
// Corruption when a part's value is not a CRC of that algorithm.
struct PartCrc {
  std::string checksum;  // base64
  uint64_t size = 0;
};
Result<std::string> FullObjectChecksum(crypto::ChecksumAlgorithm algorithm, const std::vector<PartCrc>& parts);

// A new upload id: 16 hex digits of the creation time (so uploads of one
// key list in initiation order) and 16 random hex digits.
std::string NewUploadId(int64_t now_ns);

}  // namespace annex::objectstore
