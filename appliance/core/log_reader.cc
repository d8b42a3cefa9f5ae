#include "appliance/core/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "appliance/os/file_system.h"

namespace annex::log {
namespace {

// The lines of `text`, each with its '\n' (the last one may lack it).
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> LastLogLines(const std::string& path, size_t n) {
  os::FileSystem& fs = os::PosixFileSystem();
  std::vector<std::string> newest_first;  // lines, newest first
  bool found = false;
  for (unsigned i = 0; newest_first.size() < n; ++i) {
    std::string file = i == 0 ? path : path + "." + std::to_string(i);
    Result<std::string> text = os::ReadFileToString(fs, file);
    if (!text.ok()) {
      if (i == 0) continue;  // between a rotation's rename and the new file
      break;
    }
    found = true;
    std::vector<std::string> lines = SplitLines(*text);
    for (auto it = lines.rbegin(); it != lines.rend() && newest_first.size() < n; ++it) newest_first.push_back(*it);
  }
  if (!found) return Status::NotFound("no log at " + path);
  std::reverse(newest_first.begin(), newest_first.end());
  return newest_first;
}

LogFollower::LogFollower(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0) {
    inode_ = st.st_ino;
    ::lseek(fd_, 0, SEEK_END);
  }
}

LogFollower::~LogFollower() {
  if (fd_ >= 0) ::close(fd_);
}

void LogFollower::Drain(const std::function<void(std::string_view)>& out) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return;
    out(std::string_view(buf, static_cast<size_t>(n)));
  }
}

void LogFollower::Poll(const std::function<void(std::string_view)>& out) {
  if (fd_ >= 0) Drain(out);
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // rotating right now, or not created yet
  if (fd_ >= 0 && st.st_ino == inode_) {
    // The same file, truncated by someone: start over.
    off_t at = ::lseek(fd_, 0, SEEK_CUR);
    if (at > st.st_size) {
      ::lseek(fd_, 0, SEEK_SET);
      Drain(out);
    }
    return;
  }
  // Rotated (or created): what the old file still had was drained above.
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return;
  struct stat now {};
  inode_ = ::fstat(fd_, &now) == 0 ? now.st_ino : 0;
  Drain(out);
}

}  // namespace annex::log
