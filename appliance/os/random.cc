#include "appliance/os/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

#include "appliance/core/strings.h"

namespace annex::os {

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) std::abort();  // no entropy: unsafe to go on
  return HexEncode(buf);
}

std::string RandomString(size_t length, std::string_view alphabet) {
  std::string out;
  out.reserve(length);
  while (out.size() < length) {
    uint8_t b;
    if (RAND_bytes(&b, 1) != 1) std::abort();
    // Rejection sampling keeps the distribution uniform.
    size_t limit = 256 - 256 % alphabet.size();
    if (b < limit) out.push_back(alphabet[b % alphabet.size()]);
  }
  return out;
}

}  // namespace annex::os
