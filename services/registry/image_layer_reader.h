#pragma once
// LayerReader: the tar entries of one image layer blob. The compression is
// recognised by its magic bytes — gzip, zstd or none — never by the media
// type a manifest claims, and the uncompressed stream is hashed on the way
// through: its sha256 is the layer's diffID, which the image config lists
// and the unpacker checks.
//
// Two libarchive readers are chained: a "raw" reader that only
// decompresses, whose output feeds (and is hashed by) a tar reader. That is
// how the diffID comes out of the same single pass that unpacks the layer.
//
// Not thread-safe; one reader per layer being applied.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"

struct archive_entry;

namespace annex::registry {

class LayerReader {
 public:
  // Reads `blob` (which must outlive the reader). More than
  // `max_uncompressed` bytes after decompression fail the layer
  // (ResourceExhausted): a small gzip bomb must not fill the disk.
  static Result<std::unique_ptr<LayerReader>> Open(const os::RandomAccessFile& blob, uint64_t max_uncompressed);
  ~LayerReader();

  // The next entry, or nullptr after the last one. The entry is valid until
  // the next call. Corruption for a damaged stream or tar.
  Result<archive_entry*> Next();

  // Reads the current entry's data: `visit(offset, bytes)` per block
  // (offsets jump over holes of sparse files).
  Status ReadData(const std::function<Status(int64_t offset, std::string_view bytes)>& visit);

  // Reads what follows the tar's end (padding) and returns the diffID,
  // "sha256:<hex>" of every uncompressed byte.
  Result<std::string> Finish();

  // Uncompressed bytes read so far.
  uint64_t uncompressed_bytes() const;

  struct State;  // the readers and buffers; defined in the .cc

 private:
  explicit LayerReader(std::unique_ptr<State> state);
  Status TarError(std::string_view what) const;
  std::unique_ptr<State> s_;
};

}  // namespace annex::registry
