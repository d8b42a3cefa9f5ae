#include "services/containers/oci_spec.h"

#include <sys/resource.h>

#include <cstdio>
#include <utility>

namespace annex::containers {
namespace {

// Docker's default set (moby oci/caps/defaults.go) without CAP_MKNOD. Docker
// can grant MKNOD because its devices cgroup forbids opening what a
// container creates; here no runtime writes a devices cgroup (the
// supervisor owns the cgroups), so a node made for a host disk would open.
const char* const kCapabilities[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE",    "CAP_FSETID",     "CAP_FOWNER",  "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID",          "CAP_SETFCAP",    "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL",        "CAP_AUDIT_WRITE",
};

// moby oci/defaults.go.
const char* const kMaskedPaths[] = {
    "/proc/asound",        "/proc/acpi",       "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",          "/sys/firmware",    "/sys/devices/virtual/powercap",
};
const char* const kReadonlyPaths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

struct RlimitName {
  int resource;
  const char* name;
};
const RlimitName kRlimitNames[] = {
    {RLIMIT_AS, "RLIMIT_AS"},           {RLIMIT_CORE, "RLIMIT_CORE"},
    {RLIMIT_CPU, "RLIMIT_CPU"},         {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_FSIZE, "RLIMIT_FSIZE"},     {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"},       {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"},     {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},   {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"}, {RLIMIT_STACK, "RLIMIT_STACK"},
};

const char* RlimitNameOf(int resource) {
  for (const auto& r : kRlimitNames) {
    if (r.resource == resource) return r.name;
  }
  return nullptr;
}

Json Mount(std::string destination, std::string type, std::string source, std::vector<std::string> options) {
  return Json{{"destination", std::move(destination)},
              {"type", std::move(type)},
              {"source", std::move(source)},
              {"options", std::move(options)}};
}

Json Process(const ContainerLaunch& l) {
  Json caps = Json::array();
  for (const char* c : kCapabilities) caps.push_back(c);
  Json rlimits = Json::array();
  for (const auto& r : l.rlimits) {
    rlimits.push_back({{"type", RlimitNameOf(r.resource)}, {"soft", r.soft}, {"hard", r.hard}});
  }
  Json user = {{"uid", l.uid}, {"gid", l.gid}};
  if (!l.additional_gids.empty()) user["additionalGids"] = l.additional_gids;
  Json process = {
      {"terminal", false},
      {"user", std::move(user)},
      {"args", l.argv},
      {"env", l.env},
      {"cwd", l.working_dir.empty() ? std::string("/") : l.working_dir},
      // Docker leaves inheritable and ambient empty (moby#42868): an exec'd
      // non-root program gets no capability through file inheritance.
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", true},
  };
  if (!rlimits.empty()) process["rlimits"] = std::move(rlimits);
  return process;
}

Json Mounts(const ContainerLaunch& l) {
  Json mounts = Json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  });
  // Docker binds these read-write unless the root is read-only.
  std::vector<std::string> etc_opts = {"rbind", "rprivate", "nosuid", "nodev", "noexec"};
  if (l.read_only_root) etc_opts.push_back("ro");
  mounts.push_back(Mount("/etc/hosts", "bind", l.bundle_dir + "/" + kHostsFile, etc_opts));
  mounts.push_back(Mount("/etc/hostname", "bind", l.bundle_dir + "/" + kHostnameFile, etc_opts));
  mounts.push_back(Mount("/etc/resolv.conf", "bind", l.bundle_dir + "/" + kResolvConfFile, etc_opts));
  for (const auto& b : l.binds) {
    // nosuid/nodev beyond Docker's: a volume must not carry set-uid programs
    // or device nodes in from the host.
    std::vector<std::string> opts = {"rbind", "rprivate", "nosuid", "nodev"};
    opts.push_back(b.read_only ? "ro" : "rw");
    mounts.push_back(Mount(b.container_path, "bind", b.host_path, std::move(opts)));
  }
  for (const auto& t : l.tmpfs) {
    // Docker's --tmpfs defaults.
    std::vector<std::string> opts = {"nosuid", "nodev", "noexec"};
    char mode[16];
    std::snprintf(mode, sizeof(mode), "mode=%o", t.mode & 07777);
    opts.push_back(mode);
    if (t.size_bytes != 0) opts.push_back("size=" + std::to_string(t.size_bytes));
    mounts.push_back(Mount(t.container_path, "tmpfs", "tmpfs", std::move(opts)));
  }
  return mounts;
}

Json Linux(const ContainerLaunch& l) {
  Json network = {{"type", "network"}};
  if (!l.netns_path.empty()) network["path"] = l.netns_path;
  Json ns = Json::array({{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                         std::move(network)});
  Json masked = Json::array();
  for (const char* p : kMaskedPaths) masked.push_back(p);
  Json readonly = Json::array();
  for (const char* p : kReadonlyPaths) readonly.push_back(p);
  return Json{{"namespaces", std::move(ns)}, {"maskedPaths", std::move(masked)},
              {"readonlyPaths", std::move(readonly)}};
}

bool IsAbsolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

}  // namespace

bool IsValidContainerId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status ValidateLaunch(const ContainerLaunch& l) {
  if (!IsValidContainerId(l.id)) return Status::InvalidArgument("container id: 1-128 of [A-Za-z0-9._-]: " + l.id);
  if (!IsAbsolute(l.rootfs_dir)) return Status::InvalidArgument("rootfs_dir must be absolute");
  if (!IsAbsolute(l.bundle_dir)) return Status::InvalidArgument("bundle_dir must be absolute");
  if (l.argv.empty() || l.argv[0].empty()) return Status::InvalidArgument("argv is empty");
  if (!l.working_dir.empty() && !IsAbsolute(l.working_dir)) {
    return Status::InvalidArgument("working_dir must be absolute: " + l.working_dir);
  }
  for (const auto& e : l.env) {
    if (e.find('=') == std::string::npos || e[0] == '=') return Status::InvalidArgument("env entry not NAME=value: " + e);
  }
  if (!l.netns_path.empty() && !IsAbsolute(l.netns_path)) return Status::InvalidArgument("netns_path must be absolute");
  for (const auto& b : l.binds) {
    if (!IsAbsolute(b.host_path) || !IsAbsolute(b.container_path)) {
      return Status::InvalidArgument("bind mount paths must be absolute: " + b.host_path + ":" + b.container_path);
    }
  }
  for (const auto& t : l.tmpfs) {
    if (!IsAbsolute(t.container_path)) return Status::InvalidArgument("tmpfs path must be absolute: " + t.container_path);
  }
  for (const auto& r : l.rlimits) {
    if (!RlimitNameOf(r.resource)) return Status::InvalidArgument("unknown rlimit " + std::to_string(r.resource));
    if (r.soft > r.hard) return Status::InvalidArgument(std::string(RlimitNameOf(r.resource)) + ": soft above hard");
  }
  return Status::OK();
}

std::string HostnameOf(const ContainerLaunch& l) { return l.hostname.empty() ? l.id.substr(0, 12) : l.hostname; }

Json BuildOciConfig(const ContainerLaunch& l) {
  return Json{
      {"ociVersion", "1.0.2"},
      {"process", Process(l)},
      {"root", {{"path", kRootfsDir}, {"readonly", l.read_only_root}}},
      {"hostname", HostnameOf(l)},
      {"mounts", Mounts(l)},
      {"linux", Linux(l)},
  };
}

}  // namespace annex::containers
