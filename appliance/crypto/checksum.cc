#include "appliance/crypto/checksum.h"

#include <zlib.h>

#include <array>
#include <cstring>

#include "appliance/core/strings.h"
#include "appliance/crypto/crc_math.h"
#include "appliance/crypto/hash.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define ANNEX_CRC32C_HAVE_SSE42 1
#endif

namespace annex::crypto {
namespace {

// ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) -------------------

constexpr uint32_t kCastagnoli = kCrc32cReflected;

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Crc32cTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Crc32cTables() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = b;
      for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kCastagnoli : c >> 1;
      t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; ++b) {
      for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
    }
  }
};
constexpr Crc32cTables kTables;

// `c` is the running register (already inverted), as is the return value.
uint32_t Crc32cSoftware(uint32_t c, const unsigned char* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    // The tables assume little-endian word loads; x86/ARM Linux targets are.
    lo ^= c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

#ifdef ANNEX_CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t c, const unsigned char* p,
                                                          size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c64 = _mm_crc32_u64(c64, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c64);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool CpuHasSse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

std::string BigEndian(uint64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
  return out;
}

class CrcChecksummer final : public Checksummer {
 public:
  explicit CrcChecksummer(ChecksumAlgorithm algorithm) : algorithm_(algorithm) {}
  void Update(std::string_view data) override {
    switch (algorithm_) {
      case ChecksumAlgorithm::kCrc32c:
        crc_ = Crc32cUpdate(static_cast<uint32_t>(crc_), data);
        break;
      case ChecksumAlgorithm::kCrc64Nvme:
        crc_ = Crc64NvmeUpdate(crc_, data);
        break;
      default:
        crc_ = Crc32Update(static_cast<uint32_t>(crc_), data);
        break;
    }
  }
  std::string Final() override { return CrcDigest(algorithm_, crc_); }

 private:
  ChecksumAlgorithm algorithm_;
  uint64_t crc_ = 0;
};

constexpr CrcMath<uint32_t, kCrc32Reflected> kCrc32Math;
constexpr CrcMath<uint32_t, kCrc32cReflected> kCrc32cMath;
// Built at first use: 67 squarings of 64-bit polynomials are too many steps
// for a constant expression.
const CrcMath<uint64_t, kCrc64NvmeReflected>& Crc64Math() {
  static const CrcMath<uint64_t, kCrc64NvmeReflected> math;
  return math;
}

class HashChecksummer final : public Checksummer {
 public:
  explicit HashChecksummer(HashKind kind) : hasher_(kind) {}
  void Update(std::string_view data) override { hasher_.Update(data); }
  std::string Final() override { return hasher_.Final(); }

 private:
  Hasher hasher_;
};

}  // namespace

std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name) {
  if (EqualsIgnoreCase(name, "CRC32")) return ChecksumAlgorithm::kCrc32;
  if (EqualsIgnoreCase(name, "CRC32C")) return ChecksumAlgorithm::kCrc32c;
  if (EqualsIgnoreCase(name, "SHA1")) return ChecksumAlgorithm::kSha1;
  if (EqualsIgnoreCase(name, "SHA256")) return ChecksumAlgorithm::kSha256;
  if (EqualsIgnoreCase(name, "CRC64NVME")) return ChecksumAlgorithm::kCrc64Nvme;
  return std::nullopt;
}

std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return "CRC32";
    case ChecksumAlgorithm::kCrc32c:
      return "CRC32C";
    case ChecksumAlgorithm::kSha1:
      return "SHA1";
    case ChecksumAlgorithm::kSha256:
      return "SHA256";
    case ChecksumAlgorithm::kCrc64Nvme:
      return "CRC64NVME";
  }
  return "CRC32";
}

std::string ChecksumHeaderName(ChecksumAlgorithm algorithm) {
  return "x-amz-checksum-" + ToLower(ChecksumAlgorithmName(algorithm));
}

uint32_t Crc32Update(uint32_t crc, std::string_view data) {
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

uint32_t Crc32cUpdate(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint32_t c = ~crc;
#ifdef ANNEX_CRC32C_HAVE_SSE42
  if (CpuHasSse42()) return ~Crc32cHardware(c, p, data.size());
#endif
  return ~Crc32cSoftware(c, p, data.size());
}

uint32_t Crc32cUpdatePortable(uint32_t crc, std::string_view data) {
  return ~Crc32cSoftware(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::unique_ptr<Checksummer> Checksummer::Create(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
    case ChecksumAlgorithm::kCrc32c:
    case ChecksumAlgorithm::kCrc64Nvme:
      return std::make_unique<CrcChecksummer>(algorithm);
    case ChecksumAlgorithm::kSha1:
      return std::make_unique<HashChecksummer>(HashKind::kSha1);
    case ChecksumAlgorithm::kSha256:
      return std::make_unique<HashChecksummer>(HashKind::kSha256);
  }
  return nullptr;
}

std::string ChecksumBase64(Checksummer& c) { return Base64Encode(c.Final()); }

bool IsCrc(ChecksumAlgorithm algorithm) {
  return algorithm == ChecksumAlgorithm::kCrc32 || algorithm == ChecksumAlgorithm::kCrc32c ||
         algorithm == ChecksumAlgorithm::kCrc64Nvme;
}

size_t ChecksumSize(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
    case ChecksumAlgorithm::kCrc32c:
      return 4;
    case ChecksumAlgorithm::kCrc64Nvme:
      return 8;
    case ChecksumAlgorithm::kSha1:
      return 20;
    case ChecksumAlgorithm::kSha256:
      return 32;
  }
  return 4;
}

uint64_t CrcCombine(ChecksumAlgorithm algorithm, uint64_t crc_a, uint64_t crc_b, uint64_t len_b) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32c:
      return kCrc32cMath.Combine(static_cast<uint32_t>(crc_a), static_cast<uint32_t>(crc_b), len_b);
    case ChecksumAlgorithm::kCrc64Nvme:
      return Crc64Math().Combine(crc_a, crc_b, len_b);
    default:
      return kCrc32Math.Combine(static_cast<uint32_t>(crc_a), static_cast<uint32_t>(crc_b), len_b);
  }
}

std::optional<uint64_t> CrcFromDigest(ChecksumAlgorithm algorithm, std::string_view digest) {
  if (digest.size() != ChecksumSize(algorithm)) return std::nullopt;
  uint64_t v = 0;
  for (unsigned char byte : digest) v = (v << 8) | byte;
  return v;
}

std::string CrcDigest(ChecksumAlgorithm algorithm, uint64_t crc) { return BigEndian(crc, ChecksumSize(algorithm)); }

}  // namespace annex::crypto
