#pragma once
// FileSystem: the files and directories the services touch, behind an
// interface so tests can inject failures (disk full, failed fsync) and
// check that nothing half-written becomes visible.
//
// Implementations are thread-safe; individual file objects are not.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::os {

// How a new file's bytes travel to the device. kBypassCache (O_DIRECT) skips
// the page cache for appends whose address and size are multiples of
// kDirectIoAlignment at an aligned file offset; anything else — usually the
// tail — goes through the page cache, as do files on filesystems without
// O_DIRECT (tmpfs). Large object data uses it: one copy less per byte, and the
// page cache stays free for reads.
enum class WriteCaching { kBuffered, kBypassCache };
inline constexpr size_t kDirectIoAlignment = 4096;

// A file being written sequentially. Close() without Sync() gives no durability.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // fdatasync: the bytes appended so far survive a power cut.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  virtual uint64_t Size() const = 0;
};
using WritableFilePtr = std::unique_ptr<WritableFile>;

// A file read at arbitrary offsets; safe for concurrent reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to buf.size() bytes at `offset`; returns the count (0 at EOF).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<char> buf) const = 0;
  virtual uint64_t Size() const = 0;
  // The OS descriptor for zero-copy sends, or -1 where there is none.
  virtual int NativeHandle() const { return -1; }
};
using RandomAccessFilePtr = std::unique_ptr<RandomAccessFile>;

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates a new file with permission bits `mode`; AlreadyExists if `path` exists.
  virtual Result<WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode, WriteCaching caching) = 0;
  Result<WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode) {
    return NewWritableFile(path, mode, WriteCaching::kBuffered);
  }
  virtual Result<RandomAccessFilePtr> OpenForRead(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // fsyncs a directory so renames and unlinks inside it are durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Removes a file; NotFound if it does not exist.
  virtual Status Remove(const std::string& path) = 0;
  // mkdir -p
  virtual Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries in a directory, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
};
using FileSystemPtr = std::unique_ptr<FileSystem>;

// The real filesystem. Process-wide singleton; never destroyed.
FileSystem& PosixFileSystem();

// Writes `contents` to `path` crash-safely: temp file, fsync, rename, dir fsync.
// `mode` applies to the new file (e.g. 0600 for secrets).
Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view contents,
                       unsigned mode = 0644);
// The same, atomic for readers and against a crash of the process (old or
// new contents, never part), but not flushed: for files made again after a
// power loss anyway (a container bundle), where fsyncs cost start latency.
Status ReplaceFile(FileSystem& fs, const std::string& path, std::string_view contents, unsigned mode = 0644);
// Reads a whole (small) file.
Result<std::string> ReadFileToString(FileSystem& fs, const std::string& path);

std::string DirName(std::string_view path);
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace annex::os
