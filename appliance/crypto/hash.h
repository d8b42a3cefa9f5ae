#pragma once
// Incremental cryptographic hashes (OpenSSL EVP) and HMAC-SHA256.
// Each hasher object is single-threaded; create one per stream.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace annex::crypto {

enum class HashKind { kMd5, kSha1, kSha256 };

class Hasher {
 public:
  explicit Hasher(HashKind kind);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;

  void Update(std::string_view data);
  // The raw digest; the hasher must not be used afterwards.
  std::string Final();
  // Final() as lower-case hex.
  std::string FinalHex();
  // Digest size in bytes (16, 20 or 32).
  size_t size() const;

 private:
  evp_md_ctx_st* ctx_;
  HashKind kind_;
};

// One-shot helpers.
std::string Sha256Hex(std::string_view data);
std::string Md5Raw(std::string_view data);

using Sha256Digest = std::array<uint8_t, 32>;
Sha256Digest HmacSha256(std::string_view key, std::string_view data);
// Raw 20-byte HMAC-SHA1 (S3's legacy Signature Version 2).
std::string HmacSha1(std::string_view key, std::string_view data);
inline std::string_view AsBytes(const Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace annex::crypto
