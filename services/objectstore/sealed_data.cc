#include "services/objectstore/sealed_data.h"

#include "appliance/store/record.h"

namespace annex::objectstore {
namespace {

std::string Nonce(uint64_t chunk) {
  std::string nonce(4, '\0');
  store::AppendBigEndian64(nonce, chunk);
  return nonce;
}

}  // namespace

uint64_t SealedSize(uint64_t plain) {
  uint64_t full = plain / kPlainChunk, rest = plain % kPlainChunk;
  return full * kSealedChunk + (rest ? rest + crypto::kAeadTagSize : 0);
}

uint64_t PlainSize(uint64_t sealed) {
  uint64_t full = sealed / kSealedChunk, rest = sealed % kSealedChunk;
  return full * kPlainChunk + (rest > crypto::kAeadTagSize ? rest - crypto::kAeadTagSize : 0);
}

Status SealChunks(crypto::Aes256Gcm& gcm, std::string_view key, uint64_t first_chunk, std::string_view plain,
                  char* out) {
  for (uint64_t chunk = first_chunk; !plain.empty(); ++chunk) {
    std::string_view piece = plain.substr(0, kPlainChunk);
    ANNEX_RETURN_IF_ERROR(gcm.Seal(key, Nonce(chunk), piece, out));
    out += piece.size() + crypto::kAeadTagSize;
    plain.remove_prefix(piece.size());
  }
  return Status::OK();
}

Status OpenChunks(crypto::Aes256Gcm& gcm, std::string_view key, uint64_t first_chunk, std::string_view sealed,
                  char* out) {
  for (uint64_t chunk = first_chunk; !sealed.empty(); ++chunk) {
    std::string_view piece = sealed.substr(0, kSealedChunk);
    ANNEX_RETURN_IF_ERROR(gcm.Open(key, Nonce(chunk), piece, out));
    out += piece.size() - crypto::kAeadTagSize;
    sealed.remove_prefix(piece.size());
  }
  return Status::OK();
}

}  // namespace annex::objectstore
