#include "appliance/core/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"

namespace annex::log {
namespace {

constexpr uint64_t kMinBytes = 4096;
constexpr unsigned kMaxFiles = 100;

std::string Rotated(const std::string& path, unsigned n) { return path + "." + std::to_string(n); }

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::atomic<RotatingLogFile*> g_file{nullptr};

void WriteToInstalledFile(std::string_view line) {
  if (RotatingLogFile* f = g_file.load(std::memory_order_acquire)) f->Write(line);
}

}  // namespace

Result<std::unique_ptr<RotatingLogFile>> RotatingLogFile::Open(LogFileOptions options) {
  if (options.path.empty()) return Status::InvalidArgument("log file: empty path");
  if (options.max_bytes < kMinBytes) {
    return Status::InvalidArgument("log file: max bytes must be at least " + std::to_string(kMinBytes));
  }
  if (options.files < 1 || options.files > kMaxFiles) {
    return Status::InvalidArgument("log file: keep 1 to " + std::to_string(kMaxFiles) + " rotated files");
  }
  ANNEX_RETURN_IF_ERROR(os::PosixFileSystem().CreateDirs(os::DirName(options.path)));
  std::unique_ptr<RotatingLogFile> file(new RotatingLogFile(std::move(options)));
  std::lock_guard lock(file->mu_);
  file->OpenCurrent();
  if (file->fd_ < 0) return Status::FromErrno(errno, "open " + file->options_.path);
  // A file left over from an earlier run may already be full.
  if (file->size_ >= file->options_.max_bytes) file->Rotate();
  return file;
}

RotatingLogFile::~RotatingLogFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RotatingLogFile::OpenCurrent() {
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  size_ = 0;
  if (fd_ < 0) return;
  struct stat st {};
  if (::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  if (options_.preallocate && size_ < options_.max_bytes) {
    // Best effort: not every filesystem can (and a full disk cannot).
    (void)::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size_),
                      static_cast<off_t>(options_.max_bytes - size_));
  }
  if (options_.capture_stderr) ::dup2(fd_, STDERR_FILENO);
}

void RotatingLogFile::Rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // Oldest first; rename replaces (and so frees) the file it lands on.
  for (unsigned n = options_.files; n > 1; --n) {
    std::string from = Rotated(options_.path, n - 1);
    if (::access(from.c_str(), F_OK) == 0) ::rename(from.c_str(), Rotated(options_.path, n).c_str());
  }
  ::rename(options_.path.c_str(), Rotated(options_.path, 1).c_str());
  OpenCurrent();
}

uint64_t RotatingLogFile::CurrentSize() const {
  if (!options_.capture_stderr) return size_;
  struct stat st {};
  return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : size_;
}

void RotatingLogFile::Write(std::string_view line) {
  std::string cut;
  if (line.size() > options_.max_bytes) {
    cut.assign(line.substr(0, options_.max_bytes - 1)).push_back('\n');
    line = cut;
  }
  std::lock_guard lock(mu_);
  if (fd_ < 0) OpenCurrent();  // the last attempt failed (e.g. the directory was gone)
  if (fd_ >= 0 && CurrentSize() + line.size() > options_.max_bytes) Rotate();
  if (fd_ < 0 || !WriteAll(fd_, line)) {
    ++dropped_;
    return;
  }
  size_ += line.size();
}

uint64_t RotatingLogFile::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void LogToFile(RotatingLogFile* file) {
  g_file.store(file, std::memory_order_release);
  SetSink(file ? WriteToInstalledFile : nullptr);
}

}  // namespace annex::log
