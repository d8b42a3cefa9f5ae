#pragma once
// CgroupLayout: which cgroup hierarchy this machine offers for workloads.
// The supervisor limits children (memory, CPU, pids) through cgroups, and the
// kernel may offer them three ways: cgroup v2 alone (unified, as systemd
// mounts it today), v1 controllers each in its own hierarchy (legacy), or v1
// controllers with an empty v2 hierarchy beside them (hybrid, as this
// machine's /sys/fs/cgroup/{cpu,memory,pids,…} plus /sys/fs/cgroup/unified).
// Detected once at start, logged, and shown by /_annex/health and
// `annexctl status`.

#include <map>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::supervisor {

enum class CgroupMode { kNone, kLegacy, kHybrid, kUnified };

struct CgroupLayout {
  CgroupMode mode = CgroupMode::kNone;
  std::string unified_mount;                          // the cgroup2 mount point, if any
  std::string unified_controllers;                    // its cgroup.controllers, space-separated
  std::map<std::string, std::string> v1_controllers;  // controller → mount point

  // "hybrid: v1 blkio,cpu,… under /sys/fs/cgroup; v2 at /sys/fs/cgroup/unified (no controllers)"
  std::string Describe() const;
};

std::string_view CgroupModeName(CgroupMode mode);  // "none", "v1", "hybrid", "v2"

// From the text of /proc/self/mountinfo and of the cgroup2 mount's
// cgroup.controllers (empty when there is none or it lists nothing).
CgroupLayout ParseCgroupLayout(std::string_view mountinfo, std::string_view unified_controllers);

// Reads both from this machine.
Result<CgroupLayout> DetectCgroupLayout();

}  // namespace annex::supervisor
