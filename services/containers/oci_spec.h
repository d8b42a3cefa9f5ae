#pragma once
// ContainerLaunch and BuildOciConfig: one container to run, described the
// way the containers service knows it, and the OCI runtime-spec 1.0
// config.json that crun or runc runs it from.
//
// The config is the one Docker and podman give a default container: its own
// pid, mount, ipc, uts and network namespaces; Docker's default capability
// set (less CAP_MKNOD, see oci_spec.cc); Docker's masked and read-only /proc
// and /sys paths; the standard /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue
// and read-only /sys mounts; /etc/hosts, /etc/hostname and /etc/resolv.conf
// bound from files in the bundle (oci_bundle.h); no_new_privs.
//
// It names no cgroup and no resources: the supervisor starts the runtime in
// a cgroup of the workload's own with the limits already written, and the
// container stays in it (oci_runtime.h says how for each runtime).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/supervisor/workload_spec.h"

namespace annex::containers {

using Json = nlohmann::json;

// A host path bound into the container (an ECS volume with a sourcePath).
struct BindMount {
  std::string host_path;       // absolute
  std::string container_path;  // absolute
  bool read_only = false;
};

// A private tmpfs inside the container (ECS linuxParameters.tmpfs).
struct TmpfsMount {
  std::string container_path;  // absolute
  uint64_t size_bytes = 0;     // 0: the kernel's default (half of RAM)
  uint32_t mode = 01777;
};

struct ContainerLaunch {
  std::string id;           // the runtime's container id: 1-128 of [A-Za-z0-9._-]
  std::string rootfs_dir;   // the read-only image root (ImageStore::Prepare); never written
  std::string bundle_dir;   // where the bundle lives (oci_bundle.h); config.json names paths in it
  std::vector<std::string> argv;  // argv[0] may be relative: the runtime searches PATH from `env`
  std::vector<std::string> env;   // "NAME=value", exactly what the process gets
  std::string working_dir = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::string hostname;     // empty: the first 12 characters of `id`, as Docker does
  // A network namespace to join (/run/netns/<name>); empty: a new private
  // one holding only the loopback device.
  std::string netns_path;
  std::vector<BindMount> binds;
  std::vector<TmpfsMount> tmpfs;
  std::vector<supervisor::Rlimit> rlimits;  // resource: RLIMIT_* from <sys/resource.h>
  bool read_only_root = false;
};

// 1-128 of [A-Za-z0-9._-], not starting with '.': safe as a file name in
// the runtime's state directory and as a cgroup name.
bool IsValidContainerId(std::string_view id);

// InvalidArgument naming the first field that cannot work: a bad id, empty
// argv, a relative path where an absolute one is needed, an rlimit the OCI
// spec has no name for, a bind mount source that is not absolute.
Status ValidateLaunch(const ContainerLaunch& launch);

// The hostname the container gets (`hostname`, or the id's first 12 characters).
std::string HostnameOf(const ContainerLaunch& launch);

// config.json for `launch`. REQUIRES: ValidateLaunch(launch).ok().
Json BuildOciConfig(const ContainerLaunch& launch);

// Files the bundle writes next to config.json and binds into the container.
inline constexpr char kHostsFile[] = "hosts";
inline constexpr char kHostnameFile[] = "hostname";
inline constexpr char kResolvConfFile[] = "resolv.conf";
inline constexpr char kRootfsDir[] = "rootfs";

}  // namespace annex::containers
