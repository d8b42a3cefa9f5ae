#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cerrno>

#include "appliance/os/file_system.h"
#include "appliance/os/random.h"

namespace annex::os {
namespace {

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path, bool direct) : fd_(fd), path_(std::move(path)), direct_(direct) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (direct_) {
      size_t aligned = data.size() - data.size() % kDirectIoAlignment;
      bool ok = reinterpret_cast<uintptr_t>(data.data()) % kDirectIoAlignment == 0 && size_ % kDirectIoAlignment == 0;
      if (ok && aligned > 0) {
        ANNEX_RETURN_IF_ERROR(WriteAll(data.substr(0, aligned)));
        data.remove_prefix(aligned);
      }
      if (!data.empty()) ANNEX_RETURN_IF_ERROR(StopDirect());
    }
    if (data.empty()) return Status::OK();
    ANNEX_RETURN_IF_ERROR(WriteAll(data));
    StartWriteback();
    return Status::OK();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    return Status::OK();
  }

  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return Status::FromErrno(errno, "close " + path_);
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }

 private:
  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "write " + path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    return Status::OK();
  }

  // The rest of the file goes through the page cache (an unaligned tail).
  Status StopDirect() {
    direct_ = false;
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) return Status::FromErrno(errno, "fcntl " + path_);
    return Status::OK();
  }

  // Large buffered files are handed to the device while they are still being written,
  // so the final fdatasync finds little left to do and the disk works in
  // parallel with the network. Waiting for the range before the one just
  // started keeps dirty pages per file bounded. Advisory: errors surface in
  // Sync().
  static constexpr uint64_t kWritebackChunk = 8 << 20;
  void StartWriteback() {
    if (size_ - written_back_ < kWritebackChunk) return;
    uint64_t end = size_ - size_ % kWritebackChunk;
    ::sync_file_range(fd_, static_cast<off_t>(written_back_), static_cast<off_t>(end - written_back_),
                      SYNC_FILE_RANGE_WRITE);
    if (written_back_ >= kWritebackChunk) {
      ::sync_file_range(fd_, 0, static_cast<off_t>(written_back_), SYNC_FILE_RANGE_WAIT_BEFORE);
    }
    written_back_ = end;
  }

  int fd_;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t written_back_ = 0;
  bool direct_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Result<size_t> ReadAt(uint64_t offset, std::span<char> buf) const override {
    while (true) {
      ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Status::FromErrno(errno, "pread " + path_);
    }
  }
  uint64_t Size() const override { return size_; }
  int NativeHandle() const override { return fd_; }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

class RealFileSystem final : public FileSystem {
 public:
  using FileSystem::NewWritableFile;
  Result<WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode, WriteCaching caching) override {
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    bool direct = caching == WriteCaching::kBypassCache;
    int fd = ::open(path.c_str(), flags | (direct ? O_DIRECT : 0), mode);
    if (fd < 0 && direct && errno == EINVAL) {  // no O_DIRECT here (tmpfs)
      direct = false;
      fd = ::open(path.c_str(), flags, mode);
    }
    if (fd < 0) {
      if (errno == EEXIST) return Status::AlreadyExists(path);
      return Status::FromErrno(errno, "create " + path);
    }
    return WritableFilePtr(std::make_unique<PosixWritableFile>(fd, path, direct));
  }

  Result<RandomAccessFilePtr> OpenForRead(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "stat " + path);
    }
    return RandomAccessFilePtr(std::make_unique<PosixRandomAccessFile>(fd, static_cast<uint64_t>(st.st_size), path));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Status::FromErrno(errno, "rename " + from + " -> " + to);
    return Status::OK();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open dir " + path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(err, "fsync dir " + path);
    return Status::OK();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink " + path);
    return Status::OK();
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::OK();
    std::string partial;
    for (size_t i = 0; i <= path.size(); ++i) {
      if (i == path.size() || (path[i] == '/' && i > 0)) {
        partial = path.substr(0, i);
        if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
          return Status::FromErrno(errno, "mkdir " + partial);
        }
      }
    }
    return Status::OK();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) return Status::FromErrno(errno, "opendir " + path);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(dir)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    return names;
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
};

}  // namespace

FileSystem& PosixFileSystem() {
  static RealFileSystem* fs = new RealFileSystem();  // never destroyed
  return *fs;
}

std::string DirName(std::string_view path) {
  size_t pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

namespace {

// Writes a temporary file beside `path` and renames it over `path`; with
// `durable`, the file and the directory entry are flushed too.
Status ReplaceWith(FileSystem& fs, const std::string& path, std::string_view contents, unsigned mode, bool durable) {
  std::string tmp = path + ".tmp-" + RandomHex(6);
  auto file = fs.NewWritableFile(tmp, mode);
  if (!file.ok()) return file.status();
  Status s = (*file)->Append(contents);
  if (s.ok() && durable) s = (*file)->Sync();
  Status c = (*file)->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = fs.Rename(tmp, path);
  if (!s.ok()) {
    fs.Remove(tmp).IgnoreError();
    return s;
  }
  return durable ? fs.SyncDir(DirName(path)) : Status::OK();
}

}  // namespace

Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view contents, unsigned mode) {
  return ReplaceWith(fs, path, contents, mode, /*durable=*/true);
}

Status ReplaceFile(FileSystem& fs, const std::string& path, std::string_view contents, unsigned mode) {
  return ReplaceWith(fs, path, contents, mode, /*durable=*/false);
}

Result<std::string> ReadFileToString(FileSystem& fs, const std::string& path) {
  ANNEX_ASSIGN_OR_RETURN(auto file, fs.OpenForRead(path));
  std::string out(file->Size(), '\0');
  uint64_t off = 0;
  while (off < out.size()) {
    ANNEX_ASSIGN_OR_RETURN(size_t n, file->ReadAt(off, {out.data() + off, out.size() - off}));
    if (n == 0) break;
    off += n;
  }
  out.resize(off);
  return out;
}

}  // namespace annex::os
