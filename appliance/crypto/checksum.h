#pragma once
// The S3 additional checksums (x-amz-checksum-*): CRC32 (zlib), CRC32C
// (hardware instruction where the CPU has it), SHA-1 and SHA-256, computed
// incrementally while a body streams and rendered as base64 like S3 does.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace annex::crypto {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kSha1, kSha256 };

// "CRC32", "CRC32C", "SHA1", "SHA256" (case-insensitive) → algorithm.
std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name);
// Upper-case name as S3 spells it: "CRC32C".
std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm);
// The header carrying it: "x-amz-checksum-crc32c".
std::string ChecksumHeaderName(ChecksumAlgorithm algorithm);

uint32_t Crc32Update(uint32_t crc, std::string_view data);
// Both take and return the finished CRC (start from 0), like zlib's crc32(),
// so a value can be carried across calls.
uint32_t Crc32cUpdate(uint32_t crc, std::string_view data);
// The table-driven CRC32C that Crc32cUpdate falls back to on CPUs without
// SSE4.2; exposed so tests and benchmarks can exercise it on any machine.
uint32_t Crc32cUpdatePortable(uint32_t crc, std::string_view data);

class Checksummer {
 public:
  virtual ~Checksummer() = default;
  virtual void Update(std::string_view data) = 0;
  // The raw digest bytes (4 big-endian bytes for the CRCs).
  virtual std::string Final() = 0;
  static std::unique_ptr<Checksummer> Create(ChecksumAlgorithm algorithm);
};

// Base64 of Final(): the wire form of x-amz-checksum-* values.
std::string ChecksumBase64(Checksummer& c);

}  // namespace annex::crypto
