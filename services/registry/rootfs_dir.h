#pragma once
// Directory-relative file operations for building root filesystems from
// untrusted layers. Every call works on a directory descriptor and a single
// name in it, never on a path the kernel would resolve through symlinks:
// a layer can plant `etc -> /etc` but no later entry can write through it.
// Paths below the root are opened with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_SYMLINKS) where the kernel has it (Linux ≥ 5.6) and otherwise
// one O_NOFOLLOW component at a time.
//
// These are thin wrappers over the system calls so the unpacker and the
// snapshot cache read as what they do; errors come back as Status with the
// name that failed.

#include <sys/types.h>

#include <ctime>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::registry::rootfs {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens an existing directory by an absolute path the appliance controls.
Result<UniqueFd> OpenDir(const std::string& path);

// Opens the directory named by `components` (no "." / ".." / empty parts)
// beneath `root_fd` without following any symlink. With `create`, missing
// directories are made (0755). FailedPrecondition when a component is a
// symlink or not a directory; NotFound when missing and !create.
Result<UniqueFd> OpenDirBeneath(int root_fd, std::span<const std::string_view> components, bool create);

enum class NodeKind { kMissing, kDirectory, kRegular, kSymlink, kOther };
// What `name` in `dir_fd` is, without following a symlink.
Result<NodeKind> KindAt(int dir_fd, const std::string& name);

// Removes `name` in `dir_fd`, a directory with everything in it; a missing
// name is not an error. Never follows symlinks.
Status RemoveAt(int dir_fd, const std::string& name);
// Removes a whole tree by path (temp and abandoned snapshot directories).
Status RemoveTree(const std::string& path);

// Names in a directory, without "." and "..".
Result<std::vector<std::string>> ListNames(int dir_fd);

// Makes a directory; an existing directory is fine (AlreadyExists for anything else).
Status MakeDirAt(int dir_fd, const std::string& name, mode_t mode);
// Creates a new regular file for writing (O_EXCL, O_NOFOLLOW, mode 0600).
Result<UniqueFd> CreateFileAt(int dir_fd, const std::string& name);
// pwrite of all of `data` at `offset`.
Status WriteAt(int fd, std::string_view data, off_t offset);
Status Truncate(int fd, off_t size);
Status SymlinkAt(const std::string& target, int dir_fd, const std::string& name);
// A hard link to `from_name` in `from_dir` (a symlink is linked itself).
Status LinkAt(int from_dir, const std::string& from_name, int to_dir, const std::string& to_name);

// Metadata of a file by descriptor (regular files, directories).
Status SetOwnerFd(int fd, uid_t uid, gid_t gid);
Status SetModeFd(int fd, mode_t mode);
Status SetMtimeFd(int fd, timespec mtime);
// Metadata of `name` in `dir_fd` without following a symlink.
Status SetOwnerAt(int dir_fd, const std::string& name, uid_t uid, gid_t gid);
Status SetModeAt(int dir_fd, const std::string& name, mode_t mode);
Status SetMtimeAt(int dir_fd, const std::string& name, timespec mtime);
Status SetXattrFd(int fd, const std::string& name, std::string_view value);
// Opens an existing directory `name` in `dir_fd` (no symlink following).
Result<UniqueFd> OpenDirAt(int dir_fd, const std::string& name);

// True when ownership can be set (effective uid 0).
bool CanChangeOwner();

// Copies the tree in `src_fd` into the empty directory `dst_fd` (and the
// owner, mode and mtime of `src_fd` onto `dst_fd`): directories
// are recreated with their owner, mode and mtime; regular files are hard
// links to the same inodes (copied when an inode has no links left);
// symlinks are recreated. The result shares file data with the source, so
// a writer must replace a file (unlink, create), never write into it.
Status CloneTree(int src_fd, int dst_fd);

// syncfs(2): everything written on the file system of `fd` reaches the disk.
Status SyncFileSystem(int fd);
// fsync(2) of a directory (a rename inside it is durable).
Status SyncDir(const std::string& path);
// rename(2) of a directory; AlreadyExists when `to` is a non-empty directory.
Status RenameDir(const std::string& from, const std::string& to);

}  // namespace annex::registry::rootfs
