#pragma once
// Streaming I/O over image files and block devices: ranged hashing and
// copying in 4 MiB chunks, with progress, never holding an image in memory.

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/crypto/hash.h"
#include "provisioning/image/progress.h"

namespace annex::image {

inline constexpr size_t kIoChunk = 4 << 20;

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  int get() const { return fd_; }
  Status Close();

 private:
  int fd_ = -1;
};

Result<Fd> OpenFile(const std::string& path, int flags, unsigned mode = 0644);

// Reads exactly buf_size bytes at `offset` (OutOfRange at end of file).
Status ReadExact(int fd, uint64_t offset, char* buf, size_t size);
Status WriteExact(int fd, uint64_t offset, const char* buf, size_t size);

// Lower-case hex SHA-256 of [offset, offset+size).
Result<std::string> Sha256Range(int fd, uint64_t offset, uint64_t size, Progress* progress = nullptr);

// What to do with all-zero chunks: write them, or skip them because the
// target range is known to read as zeros already (a new sparse file).
enum class ZeroChunks { kWrite, kSkip };

// Copies [src_off, src_off+size) of `src` to `dst_off` of `dst`, feeding the
// bytes to `hash` when given.
Status CopyRange(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t size, ZeroChunks zeros,
                 crypto::Hasher* hash = nullptr, Progress* progress = nullptr);

// The parts of [0, size) of a file that hold data, per SEEK_DATA/SEEK_HOLE
// (holes read as zeros and cost nothing), with gaps shorter than 1 MiB
// merged away. A file system without hole reporting gives one region.
struct Region {
  uint64_t offset;
  uint64_t size;
};
Result<std::vector<Region>> DataRegions(int fd, uint64_t size);

// OK if [offset, offset+size) reads as zeros; only non-hole parts are read.
Status CheckZero(int fd, uint64_t offset, uint64_t size);

// Makes [offset, offset+size) of a block device read as zeros: BLKZEROOUT
// (offloaded where the device can), else written zeros.
Status ZeroDeviceRange(int fd, uint64_t offset, uint64_t size);

Result<std::string> ReadWholeFile(const std::string& path);
// Writes (replacing) with permission bits `mode`.
Status WriteWholeFile(const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace annex::image
