#include "services/registry/rootfs_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace annex::registry::rootfs {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

Status Errno(std::string_view op, std::string_view name, int err = errno) {
  return Status::FromErrno(err, std::string(op) + " " + std::string(name));
}

// The kernel rejected openat2 once (ENOSYS: older than 5.6, or filtered by
// seccomp): use the component walk from then on.
std::atomic<bool> g_no_openat2{false};

// A descriptor, or -errno.
int OpenBeneathFast(int root_fd, const std::string& path) {
  open_how how{};
  how.flags = kDirFlags;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how));
  return fd < 0 ? -errno : static_cast<int>(fd);
}

Result<UniqueFd> OpenComponent(int dir_fd, const std::string& name, bool create) {
  int fd = openat(dir_fd, name.c_str(), kDirFlags);
  if (fd < 0 && errno == ENOENT && create) {
    if (mkdirat(dir_fd, name.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", name);
    fd = openat(dir_fd, name.c_str(), kDirFlags);
  }
  if (fd >= 0) return UniqueFd(fd);
  int err = errno;
  if (err == ELOOP || err == ENOTDIR) {
    return Status::FailedPrecondition("'" + name + "' is a symlink or not a directory");
  }
  if (err == ENOENT) return Status::NotFound("no directory '" + name + "'");
  return Errno("open", name, err);
}

Status CopyFileAt(int src_dir, int dst_dir, const std::string& name, const struct stat& st);

Status CloneEntry(int src_fd, int dst_fd, const std::string& name) {
  struct stat st {};
  if (fstatat(src_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Errno("stat", name);
  if (S_ISDIR(st.st_mode)) {
    ANNEX_RETURN_IF_ERROR(MakeDirAt(dst_fd, name, 0700));
    ANNEX_ASSIGN_OR_RETURN(UniqueFd src, OpenDirAt(src_fd, name));
    ANNEX_ASSIGN_OR_RETURN(UniqueFd dst, OpenDirAt(dst_fd, name));
    return CloneTree(src.get(), dst.get());  // also copies the directory's owner, mode, mtime
  }
  if (S_ISREG(st.st_mode)) {
    if (linkat(src_fd, name.c_str(), dst_fd, name.c_str(), 0) == 0) return Status::OK();
    if (errno != EMLINK) return Errno("link", name);
    return CopyFileAt(src_fd, dst_fd, name, st);  // the inode has no links left
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlinkat(src_fd, name.c_str(), target.data(), target.size());
    if (n < 0) return Errno("readlink", name);
    target.resize(static_cast<size_t>(n));
    ANNEX_RETURN_IF_ERROR(SymlinkAt(target, dst_fd, name));
    if (CanChangeOwner()) ANNEX_RETURN_IF_ERROR(SetOwnerAt(dst_fd, name, st.st_uid, st.st_gid));
    return SetMtimeAt(dst_fd, name, st.st_mtim);
  }
  return Status::OK();  // the unpacker never creates other kinds
}

Status CopyFileAt(int src_dir, int dst_dir, const std::string& name, const struct stat& st) {
  int in = openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return Errno("open", name);
  UniqueFd src(in);
  ANNEX_ASSIGN_OR_RETURN(UniqueFd dst, CreateFileAt(dst_dir, name));
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = copy_file_range(src.get(), nullptr, dst.get(), nullptr, static_cast<size_t>(left), 0);
    if (n < 0) return Errno("copy", name);
    if (n == 0) break;
    left -= n;
  }
  if (CanChangeOwner()) ANNEX_RETURN_IF_ERROR(SetOwnerFd(dst.get(), st.st_uid, st.st_gid));
  ANNEX_RETURN_IF_ERROR(SetModeFd(dst.get(), st.st_mode & 07777));
  return SetMtimeFd(dst.get(), st.st_mtim);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

Result<UniqueFd> OpenDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  return UniqueFd(fd);
}

Result<UniqueFd> OpenDirBeneath(int root_fd, std::span<const std::string_view> components, bool create) {
  if (components.empty()) {
    int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return Errno("dup", "root");
    return UniqueFd(fd);
  }
  if (!g_no_openat2.load(std::memory_order_relaxed)) {
    std::string path;
    for (std::string_view c : components) {
      if (!path.empty()) path += '/';
      path += c;
    }
    int fd = OpenBeneathFast(root_fd, path);
    if (fd >= 0) return UniqueFd(fd);
    int err = -fd;
    if (err == ENOSYS) g_no_openat2.store(true, std::memory_order_relaxed);
    if (err == ELOOP || err == ENOTDIR || err == EXDEV) {
      return Status::FailedPrecondition("'" + path + "' passes a symlink or a non-directory");
    }
    if (err != ENOSYS && err != ENOENT) return Errno("openat2", path, err);
  }
  // Walk one component at a time: creates what is missing, and is the
  // whole resolution on kernels without openat2.
  UniqueFd dir;
  int at = root_fd;
  for (std::string_view c : components) {
    ANNEX_ASSIGN_OR_RETURN(UniqueFd next, OpenComponent(at, std::string(c), create));
    dir = std::move(next);
    at = dir.get();
  }
  return dir;
}

Result<NodeKind> KindAt(int dir_fd, const std::string& name) {
  struct stat st {};
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return NodeKind::kMissing;
    return Errno("stat", name);
  }
  if (S_ISDIR(st.st_mode)) return NodeKind::kDirectory;
  if (S_ISREG(st.st_mode)) return NodeKind::kRegular;
  if (S_ISLNK(st.st_mode)) return NodeKind::kSymlink;
  return NodeKind::kOther;
}

Status RemoveAt(int dir_fd, const std::string& name) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return Status::OK();
  if (errno != EISDIR) return Errno("unlink", name);
  {
    ANNEX_ASSIGN_OR_RETURN(UniqueFd sub, OpenDirAt(dir_fd, name));
    ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(sub.get()));
    for (const std::string& n : names) ANNEX_RETURN_IF_ERROR(RemoveAt(sub.get(), n));
  }
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return Errno("rmdir", name);
  return Status::OK();
}

Status RemoveTree(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash + 1 == path.size()) return Status::InvalidArgument("bad path " + path);
  Result<UniqueFd> parent = OpenDir(slash == 0 ? "/" : path.substr(0, slash));
  if (!parent.ok()) return parent.status().IsNotFound() ? Status::OK() : parent.status();
  return RemoveAt(parent->get(), path.substr(slash + 1));
}

Result<std::vector<std::string>> ListNames(int dir_fd) {
  int fd = openat(dir_fd, ".", kDirFlags);
  if (fd < 0) return Errno("open", ".");
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return Errno("opendir", ".");
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return Errno("readdir", ".", err);
  return names;
}

Status MakeDirAt(int dir_fd, const std::string& name, mode_t mode) {
  if (mkdirat(dir_fd, name.c_str(), mode) == 0) return Status::OK();
  if (errno != EEXIST) return Errno("mkdir", name);
  ANNEX_ASSIGN_OR_RETURN(NodeKind kind, KindAt(dir_fd, name));
  if (kind == NodeKind::kDirectory) return Status::OK();
  return Status::AlreadyExists("'" + name + "' exists and is not a directory");
}

Result<UniqueFd> CreateFileAt(int dir_fd, const std::string& name) {
  int fd = openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", name);
  return UniqueFd(fd);
}

Status WriteAt(int fd, std::string_view data, off_t offset) {
  while (!data.empty()) {
    ssize_t n = pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", "file");
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return Status::OK();
}

Status Truncate(int fd, off_t size) {
  if (ftruncate(fd, size) != 0) return Errno("truncate", "file");
  return Status::OK();
}

Status SymlinkAt(const std::string& target, int dir_fd, const std::string& name) {
  if (symlinkat(target.c_str(), dir_fd, name.c_str()) != 0) return Errno("symlink", name);
  return Status::OK();
}

Status LinkAt(int from_dir, const std::string& from_name, int to_dir, const std::string& to_name) {
  if (linkat(from_dir, from_name.c_str(), to_dir, to_name.c_str(), 0) != 0) return Errno("link", to_name);
  return Status::OK();
}

Status SetOwnerFd(int fd, uid_t uid, gid_t gid) {
  if (fchown(fd, uid, gid) != 0) return Errno("chown", "file");
  return Status::OK();
}

Status SetModeFd(int fd, mode_t mode) {
  if (fchmod(fd, mode) != 0) return Errno("chmod", "file");
  return Status::OK();
}

Status SetMtimeFd(int fd, timespec mtime) {
  timespec times[2] = {mtime, mtime};
  if (futimens(fd, times) != 0) return Errno("utimens", "file");
  return Status::OK();
}

Status SetOwnerAt(int dir_fd, const std::string& name, uid_t uid, gid_t gid) {
  if (fchownat(dir_fd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return Errno("chown", name);
  return Status::OK();
}

Status SetModeAt(int dir_fd, const std::string& name, mode_t mode) {
  // fchmodat cannot refuse to follow a symlink; callers only pass
  // directories they just created or opened, so open and fchmod.
  ANNEX_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirAt(dir_fd, name));
  return SetModeFd(fd.get(), mode);
}

Status SetMtimeAt(int dir_fd, const std::string& name, timespec mtime) {
  timespec times[2] = {mtime, mtime};
  if (utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return Errno("utimens", name);
  return Status::OK();
}

Status SetXattrFd(int fd, const std::string& name, std::string_view value) {
  if (fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0) return Errno("setxattr", name);
  return Status::OK();
}

Result<UniqueFd> OpenDirAt(int dir_fd, const std::string& name) {
  int fd = openat(dir_fd, name.c_str(), kDirFlags);
  if (fd < 0) return Errno("open", name);
  return UniqueFd(fd);
}

bool CanChangeOwner() { return geteuid() == 0; }

Status CloneTree(int src_fd, int dst_fd) {
  ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(src_fd));
  for (const std::string& name : names) ANNEX_RETURN_IF_ERROR(CloneEntry(src_fd, dst_fd, name));
  struct stat st {};
  if (fstat(src_fd, &st) != 0) return Errno("stat", "directory");
  if (CanChangeOwner()) ANNEX_RETURN_IF_ERROR(SetOwnerFd(dst_fd, st.st_uid, st.st_gid));
  ANNEX_RETURN_IF_ERROR(SetModeFd(dst_fd, st.st_mode & 07777));
  return SetMtimeFd(dst_fd, st.st_mtim);
}

Status SyncFileSystem(int fd) {
  if (syncfs(fd) != 0) return Errno("syncfs", "rootfs");
  return Status::OK();
}

Status SyncDir(const std::string& path) {
  ANNEX_ASSIGN_OR_RETURN(UniqueFd fd, OpenDir(path));
  if (fsync(fd.get()) != 0) return Errno("fsync", path);
  return Status::OK();
}

Status RenameDir(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) == 0) return Status::OK();
  if (errno == ENOTEMPTY || errno == EEXIST) return Status::AlreadyExists(to + " exists");
  return Errno("rename", from);
}

}  // namespace annex::registry::rootfs
