#pragma once
// ImageArchiveReader: reads an image archive for import — a `docker save`
// archive (also docker 25+'s, an OCI layout inside) or an OCI image layout
// packed as a tar — gzip'd or not, told apart by content, never by the
// file's name (image_archive_plan.h describes the layouts).
//
// The archive is streamed with libarchive and never extracted: no path from
// it reaches the file system. A first pass reads its table of contents and
// its small JSON documents and plans the import; a second streams each blob
// the plan needs into a BlobSink, hashing as it goes. Entry names and link
// targets resolve lexically inside the archive; one that climbs out of it
// ("../") is refused, as are device nodes, duplicate names, archives past
// the size bounds, truncated or corrupt ones, and blobs whose bytes do not
// hash to the digest the archive gives them (a docker layer's tar must
// match its config's diff_id, uncompressed if it was gzip'd). A sink sees
// Commit only for verified bytes, so a refused archive stores no blob.
//
// Not thread-safe. Blocks on the disk: run it on the blocking pool.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"
#include "services/registry/image_archive_plan.h"

struct archive_entry;

namespace annex::registry {

struct ArchiveLimits {
  uint64_t max_entries = 100000;
  uint64_t max_document_bytes = uint64_t{4} << 20;  // one JSON document (ECR's manifest limit)
  uint64_t max_documents_total = uint64_t{64} << 20;  // every JSON document kept in memory
  uint64_t max_entry_bytes = uint64_t{64} << 30;      // one layer
  size_t max_name_bytes = 4096;
};

// Where the second pass sends blob bytes (the registry store on import, a
// map in tests). Calls come in the archive's order, one blob at a time.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  // False when the destination already holds `blob` (its digest is known):
  // it is then not streamed.
  virtual bool Wants(const ArchiveBlob& blob) = 0;
  // A blob the first pass already read (a config), verified.
  virtual Status PutWhole(const ArchiveBlob& blob, std::string_view content) = 0;
  // Streams one blob: Begin, Write…, then Commit with the verified digest
  // or Abort when its bytes are refused.
  virtual Status Begin(const ArchiveBlob& blob) = 0;
  virtual Status Write(std::string_view chunk) = 0;
  virtual Status Commit(const std::string& digest) = 0;
  virtual void Abort() = 0;
};

// Reports bytes of the archive file read so far, of `total`.
using ArchiveProgressFn = std::function<void(uint64_t done, uint64_t total)>;

class TarStream;  // one pass over the archive (image_archive_reader.cc)

class ImageArchiveReader {
 public:
  // The first pass: InvalidArgument with the reason for anything that is
  // not an importable archive; IOError when the file cannot be read.
  static Result<std::unique_ptr<ImageArchiveReader>> Open(os::FileSystem& fs, const std::string& path,
                                                          const ArchiveLimits& limits);
  static Result<std::unique_ptr<ImageArchiveReader>> Open(os::FileSystem& fs, const std::string& path) {
    return Open(fs, path, ArchiveLimits{});
  }

  const ArchivePlan& plan() const { return plan_; }
  const ArchiveContents& contents() const { return contents_; }

  // The second pass: every blob of the plan into `sink` (or skipped where
  // the sink has it), verified; then the docker images' manifests are
  // written into the plan. On an error the sink has been told to Abort the
  // blob in flight and what was committed stays committed.
  Status StreamBlobs(BlobSink& sink, const ArchiveProgressFn& progress = nullptr);

 private:
  ImageArchiveReader(os::FileSystem& fs, std::string path, const ArchiveLimits& limits)
      : fs_(fs), path_(std::move(path)), limits_(limits) {}
  Status ReadContents();
  // Records one entry of the first pass (`kept`: document bytes held so far).
  Status AddEntry(TarStream& tar, archive_entry* entry, uint64_t& kept);

  os::FileSystem& fs_;
  std::string path_;
  ArchiveLimits limits_;
  uint64_t file_size_ = 0;
  ArchiveContents contents_;
  ArchivePlan plan_;
};

}  // namespace annex::registry
