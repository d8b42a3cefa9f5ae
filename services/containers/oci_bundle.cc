#include "services/containers/oci_bundle.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"

namespace annex::containers {
namespace {

// Read to EOF: /proc files report a size of 0.
Result<std::string> ReadProcFile(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, path);
  std::string out;
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  int err = errno;
  ::close(fd);
  if (n < 0) return Status::FromErrno(err, path);
  return out;
}

class SystemMounts final : public BundleMounts {
 public:
  Status MountOverlay(const std::string& lower, const std::string& upper, const std::string& work,
                      const std::string& target) override {
    std::string data = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
    // nodev: nothing the container puts in its root works as a device.
    if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, data.c_str()) != 0) {
      return Status::FromErrno(errno, "mount overlay at " + target);
    }
    return Status::OK();
  }
  Status Unmount(const std::string& target) override {
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) return Status::OK();
    if (errno == EBUSY) return Status::Unavailable("overlay at " + target + " is busy (a container still uses it)");
    return Status::FromErrno(errno, "unmount " + target);
  }
  Result<bool> IsMountPoint(const std::string& target) override {
    ANNEX_ASSIGN_OR_RETURN(std::string info, ReadProcFile("/proc/self/mountinfo"));
    // Field 5 is the mount point; bundle paths carry no spaces (CheckOverlayPath).
    size_t pos = 0;
    while (pos < info.size()) {
      size_t end = info.find('\n', pos);
      std::string_view line(info.data() + pos, (end == std::string::npos ? info.size() : end) - pos);
      pos = end == std::string::npos ? info.size() : end + 1;
      size_t field = 0, start = 0;
      for (size_t i = 0; i <= line.size(); ++i) {
        if (i < line.size() && line[i] != ' ') continue;
        if (field++ == 4) {
          if (line.substr(start, i - start) == target) return true;
          break;
        }
        start = i + 1;
      }
    }
    return false;
  }
};

// overlayfs separates its options with ',' and lower layers with ':', and
// mountinfo escapes whitespace: paths holding those are refused.
Status CheckOverlayPath(const std::string& path) {
  if (path.find_first_of(",:\\ \t\n") != std::string::npos) {
    return Status::InvalidArgument("path unusable for overlayfs: " + path);
  }
  return Status::OK();
}

Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::OK();
  return Status::FromErrno(errno, "mkdir " + path);
}

Result<std::string> Canonical(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (!real) return Status::FromErrno(errno, "realpath " + path);
  std::string out(real);
  std::free(real);
  return out;
}

Status MountRootfs(const ContainerLaunch& l, BundleMounts& mounts) {
  const std::string& b = l.bundle_dir;
  ANNEX_RETURN_IF_ERROR(MakeDir(b + "/upper", 0755));
  ANNEX_RETURN_IF_ERROR(MakeDir(b + "/work", 0700));
  ANNEX_RETURN_IF_ERROR(MakeDir(b + "/" + kRootfsDir, 0755));
  ANNEX_ASSIGN_OR_RETURN(std::string target, Canonical(b + "/" + kRootfsDir));
  ANNEX_ASSIGN_OR_RETURN(bool mounted, mounts.IsMountPoint(target));
  if (mounted) return Status::OK();  // a restart between mount and config.json
  return mounts.MountOverlay(l.rootfs_dir, b + "/upper", b + "/work", target);
}

bool IsLoopbackNameserver(std::string_view line) {
  constexpr std::string_view kKey = "nameserver";
  if (line.substr(0, kKey.size()) != kKey) return false;
  std::string_view addr = line.substr(kKey.size());
  addr.remove_prefix(std::min(addr.find_first_not_of(" \t"), addr.size()));
  return addr.substr(0, 4) == "127." || addr.substr(0, 3) == "::1";
}

int RemoveEntry(const char* path, const struct stat*, int type, struct FTW*) {
  int rc = (type == FTW_DP) ? ::rmdir(path) : ::unlink(path);
  return rc == 0 || errno == ENOENT ? 0 : errno;
}

}  // namespace

BundleMounts& SystemBundleMounts() {
  static SystemMounts* mounts = new SystemMounts();
  return *mounts;
}

std::string HostsFileContent(std::string_view hostname) {
  // Docker's /etc/hosts for a container on its own network namespace.
  return "127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\n"
         "ff00::0\tip6-mcastprefix\n"
         "ff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n"
         "127.0.1.1\t" + std::string(hostname) + "\n";
}

std::string ContainerResolvConf(std::string_view host) {
  std::string out;
  bool nameserver = false;
  size_t pos = 0;
  while (pos < host.size()) {
    size_t end = host.find('\n', pos);
    std::string_view line = host.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? host.size() : end + 1;
    if (IsLoopbackNameserver(line)) continue;
    nameserver = nameserver || line.substr(0, 10) == "nameserver";
    out.append(line).push_back('\n');
  }
  if (!nameserver) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

Status CreateBundle(const ContainerLaunch& l, BundleMounts& mounts, const std::string& host_resolv_conf) {
  ANNEX_RETURN_IF_ERROR(ValidateLaunch(l));
  ANNEX_RETURN_IF_ERROR(CheckOverlayPath(l.rootfs_dir));
  ANNEX_RETURN_IF_ERROR(CheckOverlayPath(l.bundle_dir));
  ANNEX_RETURN_IF_ERROR(MakeDir(l.bundle_dir, 0700));
  ANNEX_RETURN_IF_ERROR(MountRootfs(l, mounts));

  os::FileSystem& fs = os::PosixFileSystem();
  auto resolv = os::ReadFileToString(fs, host_resolv_conf);
  if (!resolv.ok()) log::Warn("no host resolv.conf for containers", {{"error", resolv.status().ToString()}});
  const std::string& b = l.bundle_dir;
  // Not flushed: after a power loss the task is gone and its bundle made
  // again; an fsync each would cost the start of every container.
  ANNEX_RETURN_IF_ERROR(os::ReplaceFile(fs, b + "/" + kHostsFile, HostsFileContent(HostnameOf(l))));
  ANNEX_RETURN_IF_ERROR(os::ReplaceFile(fs, b + "/" + kHostnameFile, HostnameOf(l) + "\n"));
  ANNEX_RETURN_IF_ERROR(
      os::ReplaceFile(fs, b + "/" + kResolvConfFile, ContainerResolvConf(resolv.ok() ? *resolv : "")));
  return os::ReplaceFile(fs, b + "/config.json", BuildOciConfig(l).dump(2) + "\n", 0600);
}

Status RemoveBundle(const std::string& dir, BundleMounts& mounts) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::FromErrno(errno, "stat " + dir);
  }
  std::string rootfs = dir + "/" + kRootfsDir;
  if (::access(rootfs.c_str(), F_OK) == 0) {
    ANNEX_ASSIGN_OR_RETURN(std::string target, Canonical(rootfs));
    ANNEX_ASSIGN_OR_RETURN(bool mounted, mounts.IsMountPoint(target));
    if (mounted) ANNEX_RETURN_IF_ERROR(mounts.Unmount(target));
  }
  // FTW_MOUNT: should anything still be mounted below, it is left alone
  // (and the rmdir above it fails) rather than emptied.
  int rc = ::nftw(dir.c_str(), RemoveEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) return Status::FromErrno(rc > 0 ? rc : errno, "remove bundle " + dir);
  return Status::OK();
}

}  // namespace annex::containers
