#pragma once
// ObjectSource: reads a byte range of a stored object — inline bytes or a
// run of segment files — and streams it to a response (zero-copy SendFile)
// or into a DataWriter (copies), never holding more than one buffer.
//
// Overwrites remove the old data files after their metadata commit, so a
// reader that looked up a record may find its file gone. Prepare() opens the
// first file up front so a handler can notice that and re-read the record
// before it sends anything. Later segments of multipart objects are opened
// as the stream reaches them; if one vanished mid-stream the response is cut
// short (the client sees a truncated body), documented in docs/.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/crypto/aead.h"
#include "appliance/http/exchange.h"
#include "appliance/os/blocking_pool.h"
#include "services/objectstore/data_files.h"
#include "services/objectstore/data_writer.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

class ObjectSource {
 public:
  // `files` and `object` must outlive the source.
  ObjectSource(const DataFiles& files, const ObjectRecord& object) : files_(files), object_(object) {}
  ~ObjectSource();

  // For an encrypted object: its data keys (object_encryption.h: one per
  // segment, or one for the inline bytes), and the pool that reads and
  // decrypts its chunks off the io threads.
  void SetDecryption(std::vector<std::string> keys, os::BlockingPool& pool);

  // The same for a source that may or may not be encrypted (copies).
  void SetKeysIfEncrypted(std::vector<std::string> keys, os::BlockingPool& pool) {
    if (object_.sse != Sse::kNone) SetDecryption(std::move(keys), pool);
  }

  // The plaintext of an inline object (decrypted if need be).
  Result<std::string> InlinePlaintext();

  // Opens the file holding byte `offset`. NotFound when it has been removed
  // (the object was overwritten or deleted since its record was read).
  Status Prepare(uint64_t offset);

  // Sends [offset, offset + length) after the caller's SendHead.
  http::Task<Status> SendTo(http::ResponseWriter& out, uint64_t offset, uint64_t length);
  // Appends [offset, offset + length) to `writer`, reading in the pool.
  http::Task<Status> CopyTo(DataWriter& writer, os::BlockingPool& pool, uint64_t offset, uint64_t length);

 private:
  // The segment holding `offset` and the offset inside it.
  size_t SegmentAt(uint64_t offset, uint64_t& local) const;
  Result<const os::RandomAccessFile*> FileFor(size_t segment);
  // Reads [offset, offset + length) of an encrypted object's files chunk by
  // chunk, handing each decrypted piece to `sink`.
  using Sink = std::function<http::Task<Status>(std::string_view)>;
  http::Task<Status> ReadDecrypted(uint64_t offset, uint64_t length, const Sink& sink);
  struct Window;
  // The next read of [offset, offset + length), which it then advances past.
  std::optional<Window> NextWindow(uint64_t& offset, uint64_t& length) const;
  // Reads and decrypts `w` (on a pool thread).
  Status ReadWindow(const os::RandomAccessFile& file, const Window& w, std::string& sealed, std::string& plain) const;

  const DataFiles& files_;
  const ObjectRecord& object_;
  size_t open_segment_ = SIZE_MAX;
  os::RandomAccessFilePtr open_file_;
  std::vector<std::string> keys_;
  os::BlockingPool* pool_ = nullptr;
};

}  // namespace annex::objectstore
