#pragma once
// DataFiles: the durable file store for object and part data.
//
// Layout under the root:  tmp/<id>   files being written
//                         data/xx/yy/<id>   published files (xx, yy = id[0:2], id[2:4])
// Files are named by random ids, never by object keys, so no key can reach a
// path. A file is published by fdatasync → rename into data/ → fsync of its
// directory; only then may a metadata record point at it. Anything in tmp/
// and any data file no record references is garbage after a crash and is
// removed at startup (CleanOrphans).
//
// All methods block on the disk: call them from the blocking pool on the
// request path. Thread-safe.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "appliance/os/file_system.h"

namespace annex::objectstore {

class DataFiles {
 public:
  // A file being written; remove it with Discard() unless published.
  struct TempFile {
    std::string id;
    std::string path;
    os::WritableFilePtr file;
  };

  struct CleanupStats {
    uint64_t temp_removed = 0;
    uint64_t orphans_removed = 0;
    uint64_t kept = 0;
  };

  DataFiles(os::FileSystem& fs, std::string root);

  // Creates tmp/ and data/ with its 256 first-level directories.
  Status Init();

  Result<TempFile> CreateTemp();
  // Syncs, closes and renames the temp file into data/, then syncs the
  // directory. On failure the temp file is removed.
  Status Publish(TempFile& f);
  // Closes and removes an unpublished temp file (best effort).
  void Discard(TempFile& f);

  Result<os::RandomAccessFilePtr> Open(std::string_view id) const;
  // Removes a published file; a missing file is not an error.
  Status Remove(std::string_view id);

  // Empties tmp/ and removes every data file for which `referenced(id)` is
  // false. Run at startup, before any request.
  Result<CleanupStats> CleanOrphans(const std::function<bool(std::string_view id)>& referenced);

  std::string PathOf(std::string_view id) const;
  static bool IsValidId(std::string_view id);

 private:
  Status EnsureLeafDir(std::string_view id);

  os::FileSystem& fs_;
  std::string root_;
  std::string tmp_dir_;
  std::string data_dir_;
  // One bit per data/xx/yy directory known to exist (and be durable).
  std::array<std::atomic<uint64_t>, 65536 / 64> leaf_ready_{};
};

}  // namespace annex::objectstore
