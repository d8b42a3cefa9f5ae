#include "appliance/crypto/aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

namespace annex::crypto {

// The contexts are made on first use: a reader needs only decryption ones.
struct Aes256Gcm::Context {
  // A context keeps its cipher's key schedule while its key stays the same.
  struct Keyed {
    EVP_CIPHER_CTX* ctx = nullptr;
    std::string key;
  };
  Keyed encrypt;
  // Decryption keeps the schedules of several keys, a slot per key chosen by
  // its first bytes (data keys are random): a thread serving GETs of a set
  // of small objects, each with its own data key, then expands each key
  // once rather than on every read.
  static constexpr size_t kDecryptSlots = 32;
  std::array<Keyed, kDecryptSlots> decrypt;

  Keyed& DecryptSlot(std::string_view key) {
    uint32_t h = 0;
    std::memcpy(&h, key.data(), std::min(sizeof h, key.size()));
    return decrypt[h % kDecryptSlots];
  }
  ~Context() {
    EVP_CIPHER_CTX_free(encrypt.ctx);
    for (Keyed& k : decrypt) EVP_CIPHER_CTX_free(k.ctx);
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

Aes256Gcm::Aes256Gcm() : ctx_(std::make_unique<Context>()) {}

namespace {

// Fetched once: OpenSSL 3 looks the cipher up in its providers on every
// init given EVP_aes_256_gcm(), which costs more than sealing a small object.
const EVP_CIPHER* Cipher() {
  static const EVP_CIPHER* cipher = [] {
    const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched ? fetched : EVP_aes_256_gcm();
  }();
  return cipher;
}

// Sets up `*c` (made if need be) for `key` and `nonce`, keeping the key
// schedule when the key is the one it already has.
bool Init(EVP_CIPHER_CTX*& c, std::string& current_key, std::string_view key, std::string_view nonce, bool encrypt) {
  if (!c) {
    c = EVP_CIPHER_CTX_new();
    if (!c) std::abort();  // out of memory
  }
  auto init = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
  if (current_key != key) {
    if (init(c, Cipher(), nullptr, Bytes(key), Bytes(nonce)) != 1) return false;
    current_key.assign(key);
    return true;
  }
  return init(c, nullptr, nullptr, nullptr, Bytes(nonce)) == 1;
}

}  // namespace

Aes256Gcm::~Aes256Gcm() = default;

Status Aes256Gcm::Seal(std::string_view key, std::string_view nonce, std::string_view plain, char* out) {
  ANNEX_RETURN_IF_ERROR(CheckSizes(key, nonce));
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0, tail = 0;
  if (!Init(ctx_->encrypt.ctx, ctx_->encrypt.key, key, nonce, /*encrypt=*/true)) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  EVP_CIPHER_CTX* c = ctx_->encrypt.ctx;
  if (EVP_EncryptUpdate(c, o, &len, Bytes(plain), static_cast<int>(plain.size())) != 1 ||
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
  auto* o = reinterpret_cast<unsigned char*>(out);
  int len = 0, tail = 0;
  unsigned char tag[kAeadTagSize];
  std::copy(sealed.begin() + n, sealed.end(), tag);
  Context::Keyed& slot = ctx_->DecryptSlot(key);
  if (!Init(slot.ctx, slot.key, key, nonce, /*encrypt=*/false)) {
    slot.key.clear();  // a failed init leaves the context's key unknown
    return Status::Internal("AES-256-GCM decryption failed");
  }
  EVP_CIPHER_CTX* c = slot.ctx;
  if (EVP_DecryptUpdate(c, o, &len, Bytes(sealed), static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kAeadTagSize, tag) != 1) {
    return Status::Internal("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(c, o + len, &tail) != 1) return Status::Corruption("encrypted data failed authentication");
  return Status::OK();
}

Aes256Gcm& ThreadAes256Gcm() {
  thread_local Aes256Gcm gcm;
  return gcm;
}

namespace {

// Key wrapping has a context of its own: a reader unwraps a data key under
// the master key and then decrypts under the data key, and sharing one
// context would redo both key schedules on every read.
Aes256Gcm& ThreadKeyWrapGcm() {
  thread_local Aes256Gcm gcm;
  return gcm;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) std::abort();  // no entropy
  return out;
}

std::string WrapKey(std::string_view wrapping_key, std::string_view key) {
  std::string out = RandomBytes(kAeadNonceSize);
  out.resize(kAeadNonceSize + key.size() + kAeadTagSize);
  Status s = ThreadKeyWrapGcm().Seal(wrapping_key, std::string_view(out).substr(0, kAeadNonceSize), key, out.data() + kAeadNonceSize);
  if (!s.ok()) std::abort();  // only wrong key sizes fail: a programming error
  return out;
}

Result<std::string> UnwrapKey(std::string_view wrapping_key, std::string_view wrapped) {
  if (wrapped.size() != kWrappedKeySize) return Status::Corruption("wrapped key has the wrong size");
  std::string key(kAeadKeySize, '\0');
  ANNEX_RETURN_IF_ERROR(ThreadKeyWrapGcm().Open(wrapping_key, wrapped.substr(0, kAeadNonceSize), wrapped.substr(kAeadNonceSize),
                                 key.data()));
  return key;
}

}  // namespace annex::crypto
