#pragma once
// Content digests as the OCI distribution and image specs write them:
// "sha256:<64 lower-case hex>". Only sha256 is accepted; it is what every
// client sends and what the blob store is keyed by.

#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::registry {

inline constexpr std::string_view kSha256Prefix = "sha256:";

// True for "sha256:" followed by exactly 64 lower-case hex digits.
bool IsValidDigest(std::string_view digest);

// The digest of `content` ("sha256:…").
std::string DigestOf(std::string_view content);

// "sha256:<hex>" from a raw hex string.
inline std::string DigestFromHex(std::string_view hex) { return std::string(kSha256Prefix) + std::string(hex); }

// The 64 hex digits of a valid digest.
inline std::string_view DigestHex(std::string_view digest) { return digest.substr(kSha256Prefix.size()); }

}  // namespace annex::registry
