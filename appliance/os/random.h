#pragma once
// Cryptographically strong random identifiers (upload ids, keys, secrets).

#include <string>
#include <string_view>

namespace annex::os {

// `bytes` random bytes from OpenSSL's CSPRNG, hex-encoded (2*bytes chars).
std::string RandomHex(size_t bytes);
// `length` characters drawn uniformly from `alphabet`.
std::string RandomString(size_t length, std::string_view alphabet);

}  // namespace annex::os
