#pragma once
// How encrypted object data is laid out (SSE-S3 and SSE-C): the plaintext
// in chunks of kPlainChunk bytes, each sealed with AES-256-GCM under the
// object's (or part's) own data key with the chunk's index as its nonce.
// A sealed chunk is exactly kSealedChunk = 64 KiB, so a byte range maps to
// whole chunks that are read, authenticated and decrypted alone (ranged
// GETs stay cheap), and full write buffers stay aligned for direct I/O.
// The last chunk may be shorter. A data key seals one file (or one inline
// record) only, so (key, chunk index) never repeats.

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/crypto/aead.h"

namespace annex::objectstore {

inline constexpr uint64_t kSealedChunk = 64 * 1024;
inline constexpr uint64_t kPlainChunk = kSealedChunk - crypto::kAeadTagSize;

// The stored size of `plain` bytes.
uint64_t SealedSize(uint64_t plain);

// Seals `plain`, which starts at chunk `first_chunk` and is whole chunks
// unless it ends the data, into `out` (SealedSize(plain.size()) bytes).
Status SealChunks(crypto::Aes256Gcm& gcm, std::string_view key, uint64_t first_chunk, std::string_view plain,
                  char* out);

// Opens `sealed` (whole sealed chunks from `first_chunk`, the last one
// possibly short) into `out` (the plaintext size). Corruption when a chunk
// fails authentication.
Status OpenChunks(crypto::Aes256Gcm& gcm, std::string_view key, uint64_t first_chunk, std::string_view sealed,
                  char* out);

// The plaintext size of `sealed` bytes of whole chunks (the last may be short).
uint64_t PlainSize(uint64_t sealed);

}  // namespace annex::objectstore
