#include "appliance/crypto/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <utility>

#include "appliance/core/strings.h"

namespace annex::crypto {
namespace {

const EVP_MD* MdFor(HashKind kind) {
  switch (kind) {
    case HashKind::kMd5:
      return EVP_md5();
    case HashKind::kSha1:
      return EVP_sha1();
    case HashKind::kSha256:
      return EVP_sha256();
  }
  return EVP_sha256();
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
  CheckOpenSsl(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr));
  return HexEncode(std::span<const uint8_t>(digest, len));
}

std::string Md5Raw(std::string_view data) {
  std::string out(16, '\0');
  unsigned int len = 0;
  CheckOpenSsl(EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                          &len, EVP_md5(), nullptr));
  out.resize(len);
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  // HMAC() is deprecated-free in OpenSSL 3 and the fastest one-shot path for
  // the short messages SigV4 signs (key derivation runs it four times).
  unsigned char* rc =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  if (rc == nullptr || len != out.size()) std::abort();
  return out;
}

}  // namespace annex::crypto

namespace annex::crypto {

std::string HmacSha1(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  unsigned char* rc = HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
                           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  if (rc == nullptr) std::abort();
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace annex::crypto
