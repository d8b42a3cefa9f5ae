#include "appliance/supervisor/cgroup_layout.h"

#include <sys/mount.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "appliance/core/strings.h"

namespace annex::supervisor {
namespace {

// The v1 controllers the kernel knows; other superblock options (rw,
// name=systemd, clone_children, …) are not controllers.
constexpr std::array<std::string_view, 14> kV1Controllers = {
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb",
    "memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma"};

bool IsV1Controller(std::string_view option) {
  for (auto c : kV1Controllers) {
    if (c == option) return true;
  }
  return false;
}

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string_view CgroupModeName(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kNone: return "none";
    case CgroupMode::kLegacy: return "v1";
    case CgroupMode::kHybrid: return "hybrid";
    case CgroupMode::kUnified: return "v2";
  }
  return "?";
}

CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view unified_controllers) {
  CgroupLayout layout;
  for (std::string_view line : SplitOn(mountinfo, '\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER-OPTIONS
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> left = SplitOn(line.substr(0, dash), ' ');
    std::vector<std::string_view> right = SplitOn(line.substr(dash + 3), ' ');
    if (left.size() < 6 || right.size() < 3) continue;
    std::string mount_point(left[4]);
    if (right[0] == "cgroup2") {
      if (layout.unified_mount.empty()) {
        layout.unified_mount = mount_point;
        layout.unified_mount_options = std::string(left[5]);
        layout.unified_super_options = std::string(right[2]);
      }
    } else if (right[0] == "cgroup") {
      for (std::string_view option : SplitOn(right[2], ',')) {
        if (IsV1Controller(option)) layout.v1_controllers.emplace(std::string(option), mount_point);
      }
    }
  }
  std::string controllers(unified_controllers);
  while (!controllers.empty() && (controllers.back() == '\n' || controllers.back() == ' ')) controllers.pop_back();
  if (!layout.unified_mount.empty()) layout.unified_controllers = controllers;
  bool v1 = !layout.v1_controllers.empty();
  bool v2 = !layout.unified_mount.empty();
  layout.mode = v1 && v2 ? CgroupMode::kHybrid : v1 ? CgroupMode::kLegacy : v2 ? CgroupMode::kUnified : CgroupMode::kNone;
  return layout;
}

std::string CgroupLayout::Describe() const {
  std::string out(CgroupModeName(mode));
  if (!v1_controllers.empty()) {
    std::string names;
    for (const auto& [name, mount] : v1_controllers) names += (names.empty() ? "" : ",") + name;
    out += ": v1 " + names;
  }
  if (!unified_mount.empty()) {
    out += (v1_controllers.empty() ? ": v2 at " : "; v2 at ") + unified_mount + " (" +
           (unified_controllers.empty() ? std::string("no controllers") : unified_controllers) + ")";
  }
  return out;
}

Result<CgroupLayout> DetectCgroupLayout() {
  std::string mountinfo = ReadFile("/proc/self/mountinfo");
  if (mountinfo.empty()) return Status::Unavailable("cannot read /proc/self/mountinfo");
  CgroupLayout layout = ParseCgroupLayout(mountinfo, "");
  if (!layout.unified_mount.empty()) {
    layout = ParseCgroupLayout(mountinfo, ReadFile(layout.unified_mount + "/cgroup.controllers"));
  }
  return layout;
}

CgroupRemount FavorDynmodsRemount(std::string_view mount_options, std::string_view super_options) {
  CgroupRemount r;
  r.flags = MS_REMOUNT;
  // The per-mount flags stay as they are (a remount sets them all anew).
  for (std::string_view o : SplitOn(mount_options, ',')) {
    if (o == "ro") r.flags |= MS_RDONLY;
    if (o == "nosuid") r.flags |= MS_NOSUID;
    if (o == "nodev") r.flags |= MS_NODEV;
    if (o == "noexec") r.flags |= MS_NOEXEC;
    if (o == "noatime") r.flags |= MS_NOATIME;
    if (o == "nodiratime") r.flags |= MS_NODIRATIME;
    if (o == "relatime") r.flags |= MS_RELATIME;
  }
  // So do the hierarchy's options (nsdelegate, memory_recursiveprot, …):
  // cgroup2 takes a remount's list as the whole new set.
  std::string data;
  for (std::string_view o : SplitOn(super_options, ',')) {
    if (o == "favordynmods") return CgroupRemount{};
    if (o == "rw" || o == "ro") continue;
    data += std::string(data.empty() ? "" : ",") + std::string(o);
  }
  r.data = data + (data.empty() ? "" : ",") + "favordynmods";
  return r;
}

Status FavorDynamicCgroupModifications(const CgroupLayout& layout) {
  if (layout.unified_mount.empty()) return Status::FailedPrecondition("no cgroup v2 hierarchy is mounted");
  CgroupRemount r = FavorDynmodsRemount(layout.unified_mount_options, layout.unified_super_options);
  if (r.data.empty()) return Status::OK();
  if (::mount(nullptr, layout.unified_mount.c_str(), nullptr, r.flags, r.data.c_str()) != 0) {
    return Status::FromErrno(errno, "remount " + layout.unified_mount + " with " + r.data);
  }
  return Status::OK();
}

}  // namespace annex::supervisor
