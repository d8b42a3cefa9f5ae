#pragma once
// The S3 additional checksums (x-amz-checksum-*): CRC32 (zlib), CRC32C
// (hardware instruction where the CPU has it), CRC64NVME (carry-less
// multiplication where the CPU has it, slicing-by-8 tables otherwise), SHA-1
// and SHA-256, computed incrementally while a body streams and rendered as
// base64 like S3 does; and the CRC combination that gives the CRC of A‖B from
// the CRCs of A and B and B's length (S3's full-object multipart checksums).
// Everything here is stateless or per-object: safe from any thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace annex::crypto {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kSha1, kSha256, kCrc64Nvme };

// "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" (case-insensitive) → algorithm.
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

// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all
// ones; "123456789" → 0xAE8B14860A799888), the finished CRC in and out like
// Crc32Update. Uses PCLMULQDQ folding where the CPU has it.
uint64_t Crc64NvmeUpdate(uint64_t crc, std::string_view data);
// The slicing-by-8 table version it falls back to; exposed for tests and benchmarks.
uint64_t Crc64NvmeUpdatePortable(uint64_t crc, std::string_view data);

// Whether the algorithm is a CRC (CRC32, CRC32C, CRC64NVME): the ones whose
// values combine (CrcCombine) and so may be full-object multipart checksums.
bool IsCrc(ChecksumAlgorithm algorithm);
// Digest size in bytes: 4, 8, 20 or 32.
size_t ChecksumSize(ChecksumAlgorithm algorithm);

// The CRC of A‖B from crc_a = CRC(A), crc_b = CRC(B) and len_b = |B| in
// bytes, without the data (zlib's crc32_combine, for any of the three CRCs):
// O(log len_b) carry-less multiplications modulo the polynomial.
// REQUIRES: IsCrc(algorithm); 32-bit CRCs in the low half.
uint64_t CrcCombine(ChecksumAlgorithm algorithm, uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

// A CRC's digest bytes (4 or 8, big-endian, as Final() gives them) ↔ value;
// nullopt when `digest` has the wrong size. REQUIRES: IsCrc(algorithm).
std::optional<uint64_t> CrcFromDigest(ChecksumAlgorithm algorithm, std::string_view digest);
std::string CrcDigest(ChecksumAlgorithm algorithm, uint64_t crc);

class Checksummer {
 public:
  virtual ~Checksummer() = default;
  virtual void Update(std::string_view data) = 0;
  // The raw digest bytes (4 or 8 big-endian bytes for the CRCs).
  virtual std::string Final() = 0;
  static std::unique_ptr<Checksummer> Create(ChecksumAlgorithm algorithm);
};

// Base64 of Final(): the wire form of x-amz-checksum-* values.
std::string ChecksumBase64(Checksummer& c);

}  // namespace annex::crypto
