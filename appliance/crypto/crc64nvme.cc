// CRC-64/NVME (checksum.h): the slicing-by-8 tables every CPU can use, and
// PCLMULQDQ folding (Intel, "Fast CRC Computation Using PCLMULQDQ") where
// the CPU has it. The folding constants are powers of x modulo the
// polynomial, computed once at first use by the same arithmetic CrcCombine
// uses, rather than copied as magic numbers.

#include <array>
#include <cstring>

#include "appliance/crypto/checksum.h"
#include "appliance/crypto/crc_math.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define ANNEX_CRC64_HAVE_PCLMUL 1
#endif

namespace annex::crypto {
namespace {

using Crc64Math = CrcMath<uint64_t, kCrc64NvmeReflected>;

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Crc64Tables {
  std::array<std::array<uint64_t, 256>, 8> t{};
  constexpr Crc64Tables() {
    for (uint64_t b = 0; b < 256; ++b) {
      uint64_t c = b;
      for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kCrc64NvmeReflected : c >> 1;
      t[0][b] = c;
    }
    for (size_t b = 0; b < 256; ++b) {
      for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
    }
  }
};
constexpr Crc64Tables kTables;

// `c` is the running register (already inverted), as is the return value.
uint64_t Crc64Software(uint64_t c, const unsigned char* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian load, as the tables assume (x86/ARM Linux)
    w ^= c;
    c = t[7][w & 0xFF] ^ t[6][(w >> 8) & 0xFF] ^ t[5][(w >> 16) & 0xFF] ^ t[4][(w >> 24) & 0xFF] ^
        t[3][(w >> 32) & 0xFF] ^ t[2][(w >> 40) & 0xFF] ^ t[1][(w >> 48) & 0xFF] ^ t[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

#ifdef ANNEX_CRC64_HAVE_PCLMUL

// A 128-bit block A (the first 8 bytes its high-degree half H, the next 8
// its low half L) folded d bits further on: H·x^(d+64) + L·x^d mod P. A
// reflected carry-less product carries one extra factor x, so the constants
// are x^(d+63) and x^(d-1), each for the half it multiplies.
struct FoldConstants {
  uint64_t by_128_high, by_128_low;    // d = 128: one block on
  uint64_t by_1024_high, by_1024_low;  // d = 1024: eight blocks on
};

const FoldConstants& Constants() {
  static const FoldConstants k = [] {
    Crc64Math m;
    return FoldConstants{m.XPowMod(191), m.XPowMod(127), m.XPowMod(1087), m.XPowMod(1023)};
  }();
  return k;
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i block, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(block, k, 0x00), _mm_clmulepi64_si128(block, k, 0x11));
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i Load(const unsigned char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// REQUIRES: n >= 128. Folds eight 16-byte lanes over 128-byte strides, then
// the lanes into one, then the remaining whole blocks; the last 128 bits and
// the tail go through the tables.
__attribute__((target("pclmul,sse4.1"))) uint64_t Crc64Pclmul(uint64_t c, const unsigned char* p, size_t n) {
  const FoldConstants& fc = Constants();
  const __m128i k1024 = _mm_set_epi64x(static_cast<int64_t>(fc.by_1024_low), static_cast<int64_t>(fc.by_1024_high));
  const __m128i k128 = _mm_set_epi64x(static_cast<int64_t>(fc.by_128_low), static_cast<int64_t>(fc.by_128_high));
  __m128i x[8];
  for (int i = 0; i < 8; ++i) x[i] = Load(p + 16 * i);
  // The running CRC enters as an XOR over the first 64 bits of data.
  x[0] = _mm_xor_si128(x[0], _mm_set_epi64x(0, static_cast<int64_t>(c)));
  p += 128;
  n -= 128;
  while (n >= 128) {
    for (int i = 0; i < 8; ++i) x[i] = _mm_xor_si128(Fold(x[i], k1024), Load(p + 16 * i));
    p += 128;
    n -= 128;
  }
  __m128i acc = x[0];
  for (int i = 1; i < 8; ++i) acc = _mm_xor_si128(Fold(acc, k128), x[i]);
  while (n >= 16) {
    acc = _mm_xor_si128(Fold(acc, k128), Load(p));
    p += 16;
    n -= 16;
  }
  // `acc` now stands for the message's last 16 bytes, from a zero register.
  alignas(16) unsigned char last[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(last), acc);
  return Crc64Software(Crc64Software(0, last, 16), p, n);
}

bool CpuHasPclmul() {
  static const bool has = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return has;
}

#endif

}  // namespace

uint64_t Crc64NvmeUpdate(uint64_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
#ifdef ANNEX_CRC64_HAVE_PCLMUL
  if (data.size() >= 128 && CpuHasPclmul()) return ~Crc64Pclmul(~crc, p, data.size());
#endif
  return ~Crc64Software(~crc, p, data.size());
}

uint64_t Crc64NvmeUpdatePortable(uint64_t crc, std::string_view data) {
  return ~Crc64Software(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

}  // namespace annex::crypto
