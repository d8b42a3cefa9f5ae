#include "appliance/crypto/aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace annex::crypto {

struct Aes256Gcm::Context {
  EVP_CIPHER_CTX* encrypt = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* decrypt = EVP_CIPHER_CTX_new();
  ~Context() {
    EVP_CIPHER_CTX_free(encrypt);
    EVP_CIPHER_CTX_free(decrypt);
  }
};

namespace {

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

Status CheckSizes(std::string_view key, std::string_view nonce) {
  if (key.size() != kAeadKeySize || nonce.size() != kAeadNonceSize) {
    return Status::InvalidArgument("AES-256-GCM needs a 32-byte key and a 12-byte nonce");
  }
  return Status::OK();
}

}  // namespace

Aes256Gcm::Aes256Gcm() : ctx_(std::make_unique<Context>()) {
  if (!ctx_->encrypt || !ctx_->decrypt) std::abort();  // out of memory
}

Aes256Gcm::~Aes256Gcm() = default;

Status Aes256Gcm::Seal(std::string_view key, std::string_view nonce, std::string_view plain, char* out) {
  ANNEX_RETURN_IF_ERROR(CheckSizes(key, nonce));
  EVP_CIPHER_CTX* c = ctx_->encrypt;
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0, tail = 0;
  if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(c, o, &len, Bytes(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(c, o + len, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kAeadTagSize, o + plain.size()) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  return Status::OK();
}

Status Aes256Gcm::Open(std::string_view key, std::string_view nonce, std::string_view sealed, char* out) {
  ANNEX_RETURN_IF_ERROR(CheckSizes(key, nonce));
  if (sealed.size() < kAeadTagSize) return Status::Corruption("sealed data shorter than its tag");
  const size_t n = sealed.size() - kAeadTagSize;
  EVP_CIPHER_CTX* c = ctx_->decrypt;
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0, tail = 0;
  unsigned char tag[kAeadTagSize];
  std::copy(sealed.begin() + n, sealed.end(), tag);
  if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(c, o, &len, Bytes(sealed), static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kAeadTagSize, tag) != 1) {
    return Status::Internal("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(c, o + len, &tail) != 1) return Status::Corruption("encrypted data failed authentication");
  return Status::OK();
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) std::abort();  // no entropy
  return out;
}

std::string WrapKey(std::string_view wrapping_key, std::string_view key) {
  std::string out = RandomBytes(kAeadNonceSize);
  out.resize(kAeadNonceSize + key.size() + kAeadTagSize);
  Aes256Gcm gcm;
  Status s = gcm.Seal(wrapping_key, std::string_view(out).substr(0, kAeadNonceSize), key, out.data() + kAeadNonceSize);
  if (!s.ok()) std::abort();  // only wrong key sizes fail: a programming error
  return out;
}

Result<std::string> UnwrapKey(std::string_view wrapping_key, std::string_view wrapped) {
  if (wrapped.size() != kWrappedKeySize) return Status::Corruption("wrapped key has the wrong size");
  std::string key(kAeadKeySize, '\0');
  Aes256Gcm gcm;
  ANNEX_RETURN_IF_ERROR(gcm.Open(wrapping_key, wrapped.substr(0, kAeadNonceSize), wrapped.substr(kAeadNonceSize),
                                 key.data()));
  return key;
}

}  // namespace annex::crypto
