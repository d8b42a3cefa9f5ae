// Which cgroup hierarchy a machine offers, from its mount table: the hybrid
// layout this build machine has, systemd's unified v2, legacy v1, and none.

#include "appliance/supervisor/cgroup_layout.h"

#include <sys/mount.h>

#include <gtest/gtest.h>

namespace annex::supervisor {
namespace {

// This machine's /proc/self/mountinfo, cgroup lines (and one unrelated).
constexpr std::string_view kHybrid =
    "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/a\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(CgroupLayout, HybridAsOnThisMachine) {
  CgroupLayout l = ParseCgroupLayout(kHybrid, "");
  EXPECT_EQ(l.mode, CgroupMode::kHybrid);
  EXPECT_EQ(l.v1_controllers.size(), 4u);
  EXPECT_EQ(l.v1_controllers.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_FALSE(l.v1_controllers.contains("name=systemd"));
  EXPECT_EQ(l.unified_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l.Describe(), "hybrid: v1 cpu,cpuacct,memory,pids; v2 at /sys/fs/cgroup/unified (no controllers)");
}

TEST(CgroupLayout, UnifiedLegacyAndNone) {
  CgroupLayout v2 = ParseCgroupLayout(
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
      "cpuset cpu io memory hugetlb pids rdma misc\n");
  EXPECT_EQ(v2.mode, CgroupMode::kUnified);
  EXPECT_EQ(v2.Describe(), "v2: v2 at /sys/fs/cgroup (cpuset cpu io memory hugetlb pids rdma misc)");
  CgroupLayout v1 = ParseCgroupLayout("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", "");
  EXPECT_EQ(v1.mode, CgroupMode::kLegacy);
  EXPECT_EQ(v1.v1_controllers.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(ParseCgroupLayout("22 1 0:21 / / rw - ext4 /dev/vda1 rw\ngarbage\n\n", "").mode, CgroupMode::kNone);
}

// favordynmods is added to what the v2 mount already has, never in place of it:
// cgroup2 takes a remount's options as its whole new set, and a remount resets
// the per-mount flags.
TEST(CgroupLayout, FavorDynmodsRemountKeepsEveryOtherOption) {
  CgroupLayout v2 = ParseCgroupLayout(
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n",
      "");
  EXPECT_EQ(v2.unified_mount_options, "rw,nosuid,nodev,noexec,relatime");
  EXPECT_EQ(v2.unified_super_options, "rw,nsdelegate,memory_recursiveprot");
  CgroupRemount r = FavorDynmodsRemount(v2.unified_mount_options, v2.unified_super_options);
  EXPECT_EQ(r.flags, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
  EXPECT_EQ(r.data, "nsdelegate,memory_recursiveprot,favordynmods");

  CgroupLayout hybrid = ParseCgroupLayout(kHybrid, "");
  CgroupRemount h = FavorDynmodsRemount(hybrid.unified_mount_options, hybrid.unified_super_options);
  EXPECT_EQ(h.flags, MS_REMOUNT | MS_RELATIME);
  EXPECT_EQ(h.data, "favordynmods");

  // Already set: nothing to do.
  EXPECT_EQ(FavorDynmodsRemount("rw,relatime", "rw,favordynmods").data, "");
  EXPECT_EQ(FavorDynamicCgroupModifications(ParseCgroupLayout("", "")).code(), StatusCode::kFailedPrecondition);
}

// Workloads need cgroups: the machines annexd runs on (and this one) have them.
TEST(CgroupLayout, ThisMachineHasOne) {
  auto layout = DetectCgroupLayout();
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  EXPECT_NE(layout->mode, CgroupMode::kNone) << layout->Describe();
}

}  // namespace
}  // namespace annex::supervisor
