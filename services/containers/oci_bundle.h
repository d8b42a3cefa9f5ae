#pragma once
// OCI bundles: the directory crun or runc runs one container from.
//
//   <bundle>/config.json    BuildOciConfig (oci_spec.h); written last, so
//                           its presence means the bundle is complete
//   <bundle>/rootfs         overlayfs: the read-only image root below, the
//                           container's writes in upper/ (nodev)
//   <bundle>/upper, work    overlayfs's upper and work directories
//   <bundle>/hosts, hostname, resolv.conf   bound over the container's /etc
//
// CreateBundle is idempotent (annexd may restart between its steps): an
// overlay already mounted at rootfs is kept, files are rewritten whole
// (written, fsync'd, renamed). RemoveBundle unmounts and deletes, never
// crossing into another file system.
//
// Mounts go through BundleMounts so tests can make them fail. Bundles are
// not locked: one caller at a time per bundle directory.

#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "services/containers/oci_spec.h"

namespace annex::containers {

// The mount operations a bundle needs.
class BundleMounts {
 public:
  virtual ~BundleMounts() = default;
  // Mounts overlayfs at `target`. `lower`, `upper`, `work` exist.
  virtual Status MountOverlay(const std::string& lower, const std::string& upper, const std::string& work,
                              const std::string& target) = 0;
  // Unmounts `target` (not lazily: busy is an error).
  virtual Status Unmount(const std::string& target) = 0;
  // Whether something is mounted exactly at `target` (an absolute, canonical path).
  virtual Result<bool> IsMountPoint(const std::string& target) = 0;
};

// mount(2)/umount2(2) and /proc/self/mountinfo of this process.
BundleMounts& SystemBundleMounts();

// Creates launch.bundle_dir (0700) with the layout above. The host's
// resolv.conf is copied from `host_resolv_conf`, keeping only non-loopback
// nameservers (a private network namespace cannot reach the host's
// 127.0.0.53); with none left, Docker's defaults 8.8.8.8 and 8.8.4.4.
// InvalidArgument for a launch ValidateLaunch refuses or paths overlayfs
// cannot take (',' ':' '\' in them); the mount's or the disk's error
// otherwise, leaving what was made for RemoveBundle.
Status CreateBundle(const ContainerLaunch& launch, BundleMounts& mounts = SystemBundleMounts(),
                    const std::string& host_resolv_conf = "/etc/resolv.conf");

// Unmounts <dir>/rootfs if mounted and deletes `dir`. OK when `dir` does not
// exist. Unavailable when the overlay is busy (a container still runs on it).
Status RemoveBundle(const std::string& dir, BundleMounts& mounts = SystemBundleMounts());

// The /etc/hosts and resolv.conf contents CreateBundle writes.
std::string HostsFileContent(std::string_view hostname);
std::string ContainerResolvConf(std::string_view host_resolv_conf);

}  // namespace annex::containers
