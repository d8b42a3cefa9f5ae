#pragma once
// Arithmetic on reflected CRC values as polynomials over GF(2) modulo the
// CRC's polynomial (the method of zlib's crc32_combine, for any width):
// products, powers of x, and the combination of two CRCs. Private to
// appliance/crypto (checksum.cc's CrcCombine, crc64nvme.cc's folding constants).
//
// Representation: a W-bit value whose most significant bit is the
// coefficient of x^0 and whose least significant bit that of x^(W-1) (the
// reflected order the CRC registers use).

#include <array>
#include <cstdint>

namespace annex::crypto {

inline constexpr uint32_t kCrc32Reflected = 0xEDB88320u;
inline constexpr uint32_t kCrc32cReflected = 0x82F63B78u;
inline constexpr uint64_t kCrc64NvmeReflected = 0x9A6C9329AC4BC9B5ull;

template <typename T, T kPoly>
class CrcMath {
 public:
  static constexpr int kWidth = sizeof(T) * 8;
  static constexpr T kOne = T{1} << (kWidth - 1);  // x^0

  constexpr CrcMath() {
    x2k_[0] = kOne >> 1;  // x^1
    for (size_t k = 1; k < x2k_.size(); ++k) x2k_[k] = MultMod(x2k_[k - 1], x2k_[k - 1]);
  }

  // a·b mod P.
  static constexpr T MultMod(T a, T b) {
    if (a == 0) return 0;
    T m = kOne;
    T p = 0;
    for (;;) {
      if (a & m) {
        p ^= b;
        if ((a & (m - 1)) == 0) break;
      }
      m >>= 1;
      b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
    }
    return p;
  }

  // x^(n·2^k) mod P.
  constexpr T XPow2Mod(uint64_t n, size_t k) const {
    T p = kOne;
    while (n != 0) {
      if (n & 1) p = MultMod(x2k_[k], p);
      n >>= 1;
      ++k;
    }
    return p;
  }

  // x^n mod P.
  constexpr T XPowMod(uint64_t n) const { return XPow2Mod(n, 0); }

  // CRC(A‖B) from CRC(A), CRC(B) and |B| in bytes, for CRCs whose initial
  // value equals their final XOR (all three S3 CRCs): shifting A's register
  // over |B| zero bytes is a multiplication by x^(8|B|).
  constexpr T Combine(T crc_a, T crc_b, uint64_t len_b) const { return MultMod(XPow2Mod(len_b, 3), crc_a) ^ crc_b; }

 private:
  // x^(2^k) mod P for k < 3 + 64: every bit of a 64-bit byte count, times 8.
  std::array<T, 3 + 64> x2k_{};
};

}  // namespace annex::crypto
