#pragma once
// AES-256-GCM (OpenSSL, AES-NI where the CPU has it): authenticated
// encryption of buffers, and the wrapping of one key by another.
//
// A sealed buffer is the ciphertext followed by the 16-byte tag. Each
// (key, nonce) pair must seal one buffer only; callers derive nonces from
// counters under keys used for one purpose.

#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::crypto {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;
// WrapKey's output: nonce, the sealed key, tag.
inline constexpr size_t kWrappedKeySize = kAeadNonceSize + kAeadKeySize + kAeadTagSize;

// One reusable cipher context. Not thread-safe; cheap to keep per stream.
class Aes256Gcm {
 public:
  Aes256Gcm();
  ~Aes256Gcm();
  Aes256Gcm(const Aes256Gcm&) = delete;
  Aes256Gcm& operator=(const Aes256Gcm&) = delete;

  // Writes plain.size() + kAeadTagSize bytes to `out`.
  Status Seal(std::string_view key, std::string_view nonce, std::string_view plain, char* out);
  // Writes sealed.size() - kAeadTagSize bytes to `out`; Corruption when the
  // tag does not authenticate (wrong key, altered bytes).
  Status Open(std::string_view key, std::string_view nonce, std::string_view sealed, char* out);

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

// This thread's cipher context, for short uses that would otherwise pay for
// allocating one (unwrapping a key, decrypting a small object). Not to be
// held across a suspension point.
Aes256Gcm& ThreadAes256Gcm();

// `n` bytes from OpenSSL's CSPRNG (a fresh key: RandomKey()).
std::string RandomBytes(size_t n);
inline std::string RandomKey() { return RandomBytes(kAeadKeySize); }

// `key` sealed under `wrapping_key` with a random nonce (kWrappedKeySize bytes).
std::string WrapKey(std::string_view wrapping_key, std::string_view key);
// The key back; Corruption when `wrapped` was not made with `wrapping_key`.
Result<std::string> UnwrapKey(std::string_view wrapping_key, std::string_view wrapped);

}  // namespace annex::crypto
