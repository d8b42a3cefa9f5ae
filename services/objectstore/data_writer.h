#pragma once
// DataWriter: takes an object's bytes in chunks and makes them durable —
// inline (kept in memory, stored in the LMDB record) while they fit under the
// inline threshold, else in a data file written through a fixed-size buffer
// by the blocking pool, bypassing the page cache. MD5 (the ETag) and an optional S3 checksum are
// computed as the bytes pass, never in a second pass.
//
// With a data key, the bytes are stored as sealed chunks (sealed_data.h):
// the digests are of the plaintext, the file (or inline bytes) ciphertext.
//
// Memory per writer is bounded by max(inline threshold, kBufferSize), twice
// that when encrypting.
// One coroutine at a time; destroying an unfinished writer discards its file.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/crypto/aead.h"
#include "appliance/crypto/checksum.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/exchange.h"
#include "appliance/os/aligned_buffer.h"
#include "appliance/os/blocking_pool.h"
#include "services/objectstore/data_files.h"

namespace annex::objectstore {

struct WrittenData {
  uint64_t size = 0;
  std::string md5;              // raw 16 bytes
  std::string checksum;         // base64, empty without an algorithm
  std::string inline_data;      // when file_id is empty
  std::string file_id;          // a published data file
};

class DataWriter {
 public:
  static constexpr size_t kBufferSize = 1 << 20;

  // `inline_threshold` 0 forces a data file (multipart parts). A 32-byte
  // `data_key` encrypts; empty stores plaintext.
  DataWriter(DataFiles& files, os::BlockingPool& pool, size_t inline_threshold,
             std::optional<crypto::ChecksumAlgorithm> checksum, std::string data_key = {});
  ~DataWriter();
  DataWriter(const DataWriter&) = delete;

  http::Task<Status> Append(std::string_view data);
  // Checks the digests before anything is published (BadDigest & co).
  using Verifier = std::function<Status(const WrittenData&)>;

  // Computes the digests, runs `verify` (if any), then publishes the file
  // (if any). After OK the caller owns the published file: it must either
  // be referenced by a committed record or be removed with DataFiles::Remove.
  // On error nothing is left on disk.
  http::Task<Result<WrittenData>> Finish(Verifier verify = nullptr);

 private:
  http::Task<Status> Flush();
  Status FlushBlocking();
  // The bytes to store for the plaintext in buffer_: itself, or sealed.
  Result<std::string_view> Stored();
  size_t buffer_limit() const;

  DataFiles& files_;
  os::BlockingPool& pool_;
  size_t inline_threshold_;
  crypto::Hasher md5_;
  std::unique_ptr<crypto::Checksummer> checksum_;
  os::AlignedBuffer buffer_;  // aligned so full buffers go out with O_DIRECT
  std::optional<DataFiles::TempFile> temp_;
  uint64_t size_ = 0;
  std::string data_key_;
  std::unique_ptr<crypto::Aes256Gcm> gcm_;  // with a data key
  os::AlignedBuffer sealed_;
  uint64_t next_chunk_ = 0;
};

}  // namespace annex::objectstore
