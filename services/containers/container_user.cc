#include "services/containers/container_user.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>

namespace annex::containers {
namespace {

// Docker refuses ids past the positive int32 range (moby/sys/user).
constexpr uint64_t kMaxId = 0x7fffffff;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

// Kernels before 5.6 lack openat2: walk the path one component at a time
// and refuse every symbolic link instead of resolving it inside the root.
int OpenRefusingLinks(int root_fd, std::string_view path) {
  int dir = ::dup(root_fd);
  if (dir < 0) return -1;
  size_t pos = 0;
  while (true) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    size_t end = path.find('/', pos);
    std::string part(path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    bool last = end == std::string_view::npos || path.find_first_not_of('/', end) == std::string_view::npos;
    if (part == "..") part = ".";  // the root's parent is the root
    int next = ::openat(dir, part.c_str(), last ? kOpenFlags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    ::close(dir);
    if (next < 0 || last) {
      errno = err;
      return next;
    }
    dir = next;
    pos = end;
  }
}

int OpenInRoot(int root_fd, std::string_view path) {
  open_how how{};
  how.flags = kOpenFlags;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string p(path);
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof(how)));
  if (fd < 0 && errno == ENOSYS) return OpenRefusingLinks(root_fd, path);
  return fd;
}

std::optional<uint64_t> ParseId(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t end = line.find(sep, pos);
    out.push_back(line.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

// Calls `fn(fields)` for each non-comment line of a colon-separated database.
template <typename Fn>
void ForEachEntry(std::string_view text, Fn fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#') continue;
    if (fn(Split(line, ':'))) return;
  }
}

Result<std::string> ReadDb(const std::string& rootfs_dir, std::string_view path) {
  auto text = ReadFileInRoot(rootfs_dir, path, kMaxUserDbBytes);
  if (!text.ok() && text.status().IsNotFound()) return std::string();
  return text;
}

Status CheckRange(uint64_t id, std::string_view what) {
  if (id > kMaxId) return Status::InvalidArgument(std::string(what) + " out of range 0-2147483647");
  return Status::OK();
}

}  // namespace

Result<std::string> ReadFileInRoot(const std::string& rootfs_dir, std::string_view path, size_t max_bytes) {
  Fd root(::open(rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.fd < 0) return Status::FromErrno(errno, "open root " + rootfs_dir);
  Fd f(OpenInRoot(root.fd, path));
  if (f.fd < 0) {
    if (errno == ENOENT) return Status::NotFound(std::string(path) + " not in the image");
    if (errno == ELOOP) return Status::IOError(std::string(path) + " in the image is a symbolic link");
    return Status::FromErrno(errno, "open " + std::string(path) + " in the image");
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return Status::FromErrno(errno, "stat " + std::string(path));
  if (!S_ISREG(st.st_mode)) return Status::IOError(std::string(path) + " in the image is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Status::IOError(std::string(path) + " in the image is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read " + std::string(path));
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status::IOError(std::string(path) + " in the image grew past " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<ContainerUser> ResolveContainerUser(const std::string& rootfs_dir, std::string_view user) {
  ContainerUser out;
  if (user.empty()) return out;
  size_t colon = user.find(':');
  std::string_view user_arg = user.substr(0, colon);
  std::string_view group_arg = colon == std::string_view::npos ? std::string_view() : user.substr(colon + 1);
  if (colon != std::string_view::npos && group_arg.empty()) return Status::InvalidArgument("user '" + std::string(user) + "': empty group");

  ANNEX_ASSIGN_OR_RETURN(std::string passwd, ReadDb(rootfs_dir, "/etc/passwd"));
  std::string matched_name;
  if (!user_arg.empty()) {
    ForEachEntry(passwd, [&](const std::vector<std::string_view>& f) {
      if (f.size() < 4 || (f[0] != user_arg && f[2] != user_arg)) return false;
      auto uid = ParseId(f[2]);
      auto gid = ParseId(f[3]);
      if (!uid || !gid || *uid > kMaxId || *gid > kMaxId) return false;
      out.uid = static_cast<uid_t>(*uid);
      out.gid = static_cast<gid_t>(*gid);
      if (f.size() > 5 && !f[5].empty()) out.home = std::string(f[5]);
      matched_name = std::string(f[0]);
      return true;
    });
    if (matched_name.empty()) {
      auto uid = ParseId(user_arg);
      if (!uid) return Status::NotFound("unable to find user " + std::string(user_arg) + ": no matching entries in passwd file");
      ANNEX_RETURN_IF_ERROR(CheckRange(*uid, "uid"));
      out.uid = static_cast<uid_t>(*uid);
    }
  }
  if (group_arg.empty() && matched_name.empty()) return out;

  ANNEX_ASSIGN_OR_RETURN(std::string group, ReadDb(rootfs_dir, "/etc/group"));
  bool found_group = false;
  ForEachEntry(group, [&](const std::vector<std::string_view>& f) {
    if (f.size() < 3) return false;
    auto gid = ParseId(f[2]);
    if (!gid || *gid > kMaxId) return false;
    if (!group_arg.empty()) {
      if (f[0] != group_arg && f[2] != group_arg) return false;
      out.gid = static_cast<gid_t>(*gid);
      found_group = true;
      return true;
    }
    if (f.size() < 4) return false;
    for (std::string_view member : Split(f[3], ',')) {
      if (member == matched_name) {
        out.additional_gids.push_back(static_cast<gid_t>(*gid));
        break;
      }
    }
    return false;
  });
  if (!group_arg.empty() && !found_group) {
    auto gid = ParseId(group_arg);
    if (!gid) return Status::NotFound("unable to find group " + std::string(group_arg) + ": no matching entries in group file");
    ANNEX_RETURN_IF_ERROR(CheckRange(*gid, "gid"));
    out.gid = static_cast<gid_t>(*gid);
  }
  return out;
}

}  // namespace annex::containers
