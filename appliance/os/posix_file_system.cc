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
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
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
  int fd_;
  std::string path_;
  uint64_t size_ = 0;
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
  Result<WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
      if (errno == EEXIST) return Status::AlreadyExists(path);
      return Status::FromErrno(errno, "create " + path);
    }
    return WritableFilePtr(std::make_unique<PosixWritableFile>(fd, path));
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

Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view contents, unsigned mode) {
  std::string tmp = path + ".tmp-" + RandomHex(6);
  auto file = fs.NewWritableFile(tmp, mode);
  if (!file.ok()) return file.status();
  Status s = (*file)->Append(contents);
  if (s.ok()) s = (*file)->Sync();
  Status c = (*file)->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = fs.Rename(tmp, path);
  if (!s.ok()) {
    fs.Remove(tmp).IgnoreError();
    return s;
  }
  return fs.SyncDir(DirName(path));
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
