#include "services/objectstore/multipart_etag.h"

#include <cstdio>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/random.h"

namespace annex::objectstore {

Result<std::string> CompositeEtag(const std::vector<std::string>& part_etags) {
  crypto::Hasher md5(crypto::HashKind::kMd5);
  for (const auto& etag : part_etags) {
    auto raw = HexDecode(etag);
    if (!raw || raw->size() != 16) return Status::Corruption("part ETag is not an MD5: " + etag);
    md5.Update(*raw);
  }
  return md5.FinalHex() + "-" + std::to_string(part_etags.size());
}

Result<std::string> CompositeChecksum(crypto::ChecksumAlgorithm algorithm,
                                      const std::vector<std::string>& part_checksums) {
  auto c = crypto::Checksummer::Create(algorithm);
  for (const auto& value : part_checksums) {
    auto raw = Base64Decode(value);
    if (!raw) return Status::Corruption("part checksum is not base64");
    c->Update(*raw);
  }
  return crypto::ChecksumBase64(*c) + "-" + std::to_string(part_checksums.size());
}

Result<std::string> FullObjectChecksum(crypto::ChecksumAlgorithm algorithm, const std::vector<PartCrc>& parts) {
  uint64_t crc = 0;  // of nothing
  for (const auto& part : parts) {
    auto raw = Base64Decode(part.checksum);
    std::optional<uint64_t> value = raw ? crypto::CrcFromDigest(algorithm, *raw) : std::nullopt;
    if (!value) {
      return Status::Corruption("part checksum is not a " + std::string(crypto::ChecksumAlgorithmName(algorithm)));
    }
    crc = crypto::CrcCombine(algorithm, crc, *value, part.size);
  }
  return Base64Encode(crypto::CrcDigest(algorithm, crc));
}

std::string NewUploadId(int64_t now_ns) {
  char time_hex[17];
  std::snprintf(time_hex, sizeof time_hex, "%016llx", static_cast<unsigned long long>(now_ns));
  return std::string(time_hex) + os::RandomHex(8);
}

}  // namespace annex::objectstore
