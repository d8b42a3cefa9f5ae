#include "provisioning/image/image_io.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace annex::image {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Status Fd::Close() {
  int fd = fd_;
  fd_ = -1;
  if (fd >= 0 && ::close(fd) != 0) return Status::FromErrno(errno, "close");
  return Status::OK();
}

Result<Fd> OpenFile(const std::string& path, int flags, unsigned mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  return Fd(fd);
}

Status ReadExact(int fd, uint64_t offset, char* buf, size_t size) {
  while (size > 0) {
    ssize_t n = ::pread(fd, buf, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read");
    }
    if (n == 0) return Status::OutOfRange("unexpected end of file at byte " + std::to_string(offset));
    buf += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status WriteExact(int fd, uint64_t offset, const char* buf, size_t size) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, buf, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write");
    }
    buf += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Result<std::string> Sha256Range(int fd, uint64_t offset, uint64_t size, Progress* progress) {
  crypto::Hasher sha(crypto::HashKind::kSha256);
  std::unique_ptr<char[]> buf(new char[kIoChunk]);
  ::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(size), POSIX_FADV_SEQUENTIAL);
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, size - done));
    ANNEX_RETURN_IF_ERROR(ReadExact(fd, offset + done, buf.get(), n));
    sha.Update({buf.get(), n});
    done += n;
    if (progress) progress->Advance(n);
  }
  return sha.FinalHex();
}

Status CopyRange(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t size, ZeroChunks zeros,
                 crypto::Hasher* hash, Progress* progress) {
  std::unique_ptr<char[]> buf(new char[kIoChunk]);
  ::posix_fadvise(src, static_cast<off_t>(src_off), static_cast<off_t>(size), POSIX_FADV_SEQUENTIAL);
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, size - done));
    ANNEX_RETURN_IF_ERROR(ReadExact(src, src_off + done, buf.get(), n));
    if (hash) hash->Update({buf.get(), n});
    bool all_zero = zeros == ZeroChunks::kSkip && std::all_of(buf.get(), buf.get() + n, [](char c) { return c == 0; });
    if (!all_zero) ANNEX_RETURN_IF_ERROR(WriteExact(dst, dst_off + done, buf.get(), n));
    done += n;
    if (progress) progress->Advance(n);
  }
  return Status::OK();
}

Result<std::vector<Region>> DataRegions(int fd, uint64_t size) {
  constexpr uint64_t kMergeGap = 1 << 20;
  std::vector<Region> regions;
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      if (errno == EINVAL || errno == EOPNOTSUPP) return std::vector<Region>{{0, size}};
      return Status::FromErrno(errno, "lseek SEEK_DATA");
    }
    if (static_cast<uint64_t>(data) >= size) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return Status::FromErrno(errno, "lseek SEEK_HOLE");
    uint64_t begin = static_cast<uint64_t>(data), end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (!regions.empty() && begin - (regions.back().offset + regions.back().size) < kMergeGap) {
      regions.back().size = end - regions.back().offset;
    } else {
      regions.push_back({begin, end - begin});
    }
    pos = end;
  }
  return regions;
}

Status CheckZero(int fd, uint64_t offset, uint64_t size) {
  ANNEX_ASSIGN_OR_RETURN(auto regions, DataRegions(fd, offset + size));
  std::unique_ptr<char[]> buf(new char[kIoChunk]);
  for (const Region& r : regions) {
    uint64_t begin = std::max(r.offset, offset), end = std::min(r.offset + r.size, offset + size);
    for (uint64_t at = begin; at < end;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, end - at));
      ANNEX_RETURN_IF_ERROR(ReadExact(fd, at, buf.get(), n));
      if (!std::all_of(buf.get(), buf.get() + n, [](char c) { return c == 0; })) {
        return Status::Corruption("bytes at " + std::to_string(at) + " should be zero");
      }
      at += n;
    }
  }
  return Status::OK();
}

Status ZeroDeviceRange(int fd, uint64_t offset, uint64_t size) {
  uint64_t range[2] = {offset, size};
  if (offset % 512 == 0 && size % 512 == 0 && ::ioctl(fd, BLKZEROOUT, range) == 0) return Status::OK();
  std::unique_ptr<char[]> zeros(new char[kIoChunk]());
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kIoChunk, size - done));
    ANNEX_RETURN_IF_ERROR(WriteExact(fd, offset + done, zeros.get(), n));
    done += n;
  }
  return Status::OK();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(path, O_RDONLY));
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteWholeFile(const std::string& path, std::string_view data, unsigned mode) {
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  ANNEX_RETURN_IF_ERROR(WriteExact(fd.get(), 0, data.data(), data.size()));
  if (::fchmod(fd.get(), mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return fd.Close();
}

}  // namespace annex::image
