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
  std::string unified_mount_options;                  // per-mount options: "rw,nosuid,nodev,relatime"
  std::string unified_super_options;                  // the hierarchy's own: "rw,nsdelegate,favordynmods"
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

// Moving a process into a cgroup takes a lock that, by default, waits for an
// RCU grace period whenever no other move happened just before: 10–30 ms per
// workload start on these machines, more than the rest of a start. The
// cgroup2 `favordynmods` option keeps that lock ready for writers (forks and
// exits pay a little instead), and since the lock is shared by every
// hierarchy, setting it on the v2 mount serves v1 controllers too. Remounts
// the v2 hierarchy with it, keeping its other options; needs root. OK if the
// option is already set; FailedPrecondition if there is no v2 mount.
Status FavorDynamicCgroupModifications(const CgroupLayout& layout);

// The mount(2) arguments of that remount: per-mount flags (MS_REMOUNT |
// MS_NOSUID | …) and the data string (the super options without rw/ro, plus
// favordynmods). Empty data when the option is already set.
struct CgroupRemount {
  unsigned long flags = 0;
  std::string data;
};
CgroupRemount FavorDynmodsRemount(std::string_view mount_options, std::string_view super_options);

}  // namespace annex::supervisor
