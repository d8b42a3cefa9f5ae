#include "services/registry/digest.h"

#include "appliance/crypto/hash.h"

namespace annex::registry {

bool IsValidDigest(std::string_view digest) {
  if (!digest.starts_with(kSha256Prefix) || digest.size() != kSha256Prefix.size() + 64) return false;
  for (char c : DigestHex(digest)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string DigestOf(std::string_view content) { return DigestFromHex(crypto::Sha256Hex(content)); }

}  // namespace annex::registry
