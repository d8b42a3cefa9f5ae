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

std::string NewUploadId(int64_t now_ns) {
  char time_hex[17];
  std::snprintf(time_hex, sizeof time_hex, "%016llx", static_cast<unsigned long long>(now_ns));
  return std::string(time_hex) + os::RandomHex(8);
}

}  // namespace annex::objectstore
