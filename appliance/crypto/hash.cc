#include "appliance/crypto/hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <utility>

#include "appliance/core/strings.h"

namespace annex::crypto {
namespace {

// OpenSSL 3 looks an algorithm up in its provider store (under a lock) every
// time EVP_sha256() & co. are used to initialise a digest; fetching each one
// once keeps that off the per-request path.
const EVP_MD* Fetched(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) std::abort();
  return md;  // kept for the life of the process
}

const EVP_MD* MdFor(HashKind kind) {
  static const EVP_MD* md5 = Fetched("MD5");
  static const EVP_MD* sha1 = Fetched("SHA1");
  static const EVP_MD* sha256 = Fetched("SHA256");
  switch (kind) {
    case HashKind::kMd5:
      return md5;
    case HashKind::kSha1:
      return sha1;
    case HashKind::kSha256:
      return sha256;
  }
  return sha256;
}

// One digest context per thread for the one-shot helpers (no allocation per call).
EVP_MD_CTX* ThreadContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx) std::abort();
  return ctx.get();
}

// HMAC (RFC 2104) over a pre-fetched digest; OpenSSL's one-shot HMAC()
// re-fetches its implementation on every call.
std::string Hmac(HashKind kind, std::string_view key, std::string_view data) {
  const EVP_MD* md = MdFor(kind);
  const size_t block = static_cast<size_t>(EVP_MD_get_block_size(md));
  std::string k(key);
  if (k.size() > block) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(k.data(), k.size(), d, &n, md, nullptr) != 1) std::abort();
    k.assign(reinterpret_cast<const char*>(d), n);
  }
  k.resize(block, '\0');
  std::string ipad(k), opad(k);
  for (size_t i = 0; i < block; ++i) {
    ipad[i] = static_cast<char>(ipad[i] ^ 0x36);
    opad[i] = static_cast<char>(opad[i] ^ 0x5c);
  }
  EVP_MD_CTX* ctx = ThreadContext();
  unsigned char inner[EVP_MAX_MD_SIZE], outer[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0, outer_len = 0;
  bool ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1 && EVP_DigestUpdate(ctx, ipad.data(), block) == 1 &&
            EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 && EVP_DigestFinal_ex(ctx, inner, &inner_len) == 1 &&
            EVP_DigestInit_ex(ctx, md, nullptr) == 1 && EVP_DigestUpdate(ctx, opad.data(), block) == 1 &&
            EVP_DigestUpdate(ctx, inner, inner_len) == 1 && EVP_DigestFinal_ex(ctx, outer, &outer_len) == 1;
  if (!ok) std::abort();
  return std::string(reinterpret_cast<const char*>(outer), outer_len);
}

// OpenSSL only fails here on allocation failure or a broken provider setup;
// both are unrecoverable environment faults, so crash loudly (DESIGN §9).
void CheckOpenSsl(int rc) {
  if (rc != 1) std::abort();
}

}  // namespace

Hasher::Hasher(HashKind kind) : ctx_(EVP_MD_CTX_new()), kind_(kind) {
  if (ctx_ == nullptr) std::abort();
  CheckOpenSsl(EVP_DigestInit_ex(ctx_, MdFor(kind), nullptr));
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

Hasher::Hasher(Hasher&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)), kind_(other.kind_) {}

Hasher& Hasher::operator=(Hasher&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
    kind_ = other.kind_;
  }
  return *this;
}

void Hasher::Update(std::string_view data) {
  if (data.empty()) return;
  CheckOpenSsl(EVP_DigestUpdate(ctx_, data.data(), data.size()));
}

std::string Hasher::Final() {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  CheckOpenSsl(EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(out.data()), &len));
  out.resize(len);
  return out;
}

std::string Hasher::FinalHex() { return HexEncode(Final()); }

size_t Hasher::size() const {
  switch (kind_) {
    case HashKind::kMd5:
      return 16;
    case HashKind::kSha1:
      return 20;
    case HashKind::kSha256:
      return 32;
  }
  return 32;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = ThreadContext();
  CheckOpenSsl(EVP_DigestInit_ex(ctx, MdFor(HashKind::kSha256), nullptr));
  CheckOpenSsl(EVP_DigestUpdate(ctx, data.data(), data.size()));
  CheckOpenSsl(EVP_DigestFinal_ex(ctx, digest, &len));
  return HexEncode(std::span<const uint8_t>(digest, len));
}

std::string Md5Raw(std::string_view data) {
  std::string out(16, '\0');
  unsigned int len = 0;
  CheckOpenSsl(EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                          &len, MdFor(HashKind::kMd5), nullptr));
  out.resize(len);
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  std::string mac = Hmac(HashKind::kSha256, key, data);
  Sha256Digest out{};
  std::copy(mac.begin(), mac.end(), out.begin());
  return out;
}

}  // namespace annex::crypto

namespace annex::crypto {

std::string HmacSha1(std::string_view key, std::string_view data) { return Hmac(HashKind::kSha1, key, data); }

}  // namespace annex::crypto
