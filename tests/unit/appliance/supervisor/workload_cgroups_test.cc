// The workload cgroup subtree, on fake hierarchies (plain directories), so
// both the v2 logic and the v1 one are checked whatever this machine runs:
// which files get which values, controllers enabled on the way down, OOM
// counts parsed, and limits refused when a controller is missing.

#include "appliance/supervisor/workload_cgroups.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/testing/temp_dir.h"

namespace annex::supervisor {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

ResourceLimits SomeLimits() {
  ResourceLimits l;
  l.memory_max_bytes = 256 << 20;
  l.memory_low_bytes = 128 << 20;
  l.cpu_weight = 50;
  l.cpu_quota_us = 50'000;
  l.cpu_period_us = 100'000;
  l.pids_max = 64;
  return l;
}

TEST(WorkloadCgroups, UnifiedWritesV2LimitsAndEnablesControllersDownToTheRoot) {
  annex::testing::TempDir fake;
  CgroupLayout layout;
  layout.mode = CgroupMode::kUnified;
  layout.unified_mount = fake.path();
  layout.unified_controllers = "cpuset cpu io memory hugetlb pids";
  WorkloadCgroups cgroups(layout, "annex/workloads");
  auto paths = cgroups.Create("db-1", SomeLimits());
  ASSERT_TRUE(paths.ok()) << paths.status().ToString();
  std::string dir = fake.path() + "/annex/workloads/db-1";
  EXPECT_EQ(paths->dirs, std::vector<std::string>{dir});
  EXPECT_EQ(paths->oom_events, dir + "/memory.events");
  for (const std::string& level : {fake.path(), fake.path() + "/annex", fake.path() + "/annex/workloads"}) {
    EXPECT_EQ(Read(level + "/cgroup.subtree_control"), "+cpu +memory +pids") << level;
  }
  EXPECT_EQ(Read(dir + "/memory.max"), "268435456");
  EXPECT_EQ(Read(dir + "/memory.low"), "134217728");
  EXPECT_EQ(Read(dir + "/cpu.weight"), "50");
  EXPECT_EQ(Read(dir + "/cpu.max"), "50000 100000");
  EXPECT_EQ(Read(dir + "/pids.max"), "64");
  EXPECT_FALSE(std::filesystem::exists(dir + "/memory.swap.max")) << "only written where the kernel has it";

  // A restart with the limits lifted writes them back to unlimited.
  Write(dir + "/memory.swap.max", "max");
  ASSERT_TRUE(cgroups.Create("db-1", ResourceLimits{}).ok());
  EXPECT_EQ(Read(dir + "/memory.max"), "max");
  EXPECT_EQ(Read(dir + "/memory.low"), "0");
  EXPECT_EQ(Read(dir + "/memory.swap.max"), "max");
  EXPECT_EQ(Read(dir + "/cpu.max"), "max 100000");
  EXPECT_EQ(Read(dir + "/cpu.weight"), "100");
  EXPECT_EQ(Read(dir + "/pids.max"), "max");

  Write(dir + "/memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n");
  EXPECT_EQ(cgroups.OomKills("db-1"), 2u);
  EXPECT_EQ(cgroups.Ids(), std::vector<std::string>{"db-1"});
}

TEST(WorkloadCgroups, UnifiedWithoutAControllerRefusesItsLimit) {
  annex::testing::TempDir fake;
  CgroupLayout layout;
  layout.mode = CgroupMode::kUnified;
  layout.unified_mount = fake.path();
  layout.unified_controllers = "cpu memory";  // no pids delegated
  WorkloadCgroups cgroups(layout, "annex-workloads");
  auto refused = cgroups.Create("w", SomeLimits());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("pids"), std::string::npos) << refused.status().ToString();
  ResourceLimits no_pids = SomeLimits();
  no_pids.pids_max = 0;
  ASSERT_TRUE(cgroups.Create("w", no_pids).ok());
  EXPECT_EQ(Read(fake.path() + "/annex-workloads/cgroup.subtree_control"), "+cpu +memory");
}

TEST(WorkloadCgroups, LegacyWritesV1LimitsInEachHierarchy) {
  annex::testing::TempDir fake;
  for (const char* h : {"memory", "cpu,cpuacct", "pids"}) std::filesystem::create_directories(fake.path() + "/" + h);
  CgroupLayout layout;
  layout.mode = CgroupMode::kHybrid;
  layout.v1_controllers = {{"memory", fake.path() + "/memory"},
                           {"cpu", fake.path() + "/cpu,cpuacct"},
                           {"cpuacct", fake.path() + "/cpu,cpuacct"},
                           {"pids", fake.path() + "/pids"}};
  layout.unified_mount = fake.path() + "/unified";
  WorkloadCgroups cgroups(layout, "annex-workloads");
  auto paths = cgroups.Create("task-7", SomeLimits());
  ASSERT_TRUE(paths.ok()) << paths.status().ToString();
  std::string mem = fake.path() + "/memory/annex-workloads/task-7";
  std::string cpu = fake.path() + "/cpu,cpuacct/annex-workloads/task-7";
  std::string pids = fake.path() + "/pids/annex-workloads/task-7";
  EXPECT_EQ(paths->dirs, (std::vector<std::string>{mem, cpu, pids})) << "cpu and cpuacct share one hierarchy";
  EXPECT_EQ(paths->oom_events, mem + "/memory.oom_control");
  EXPECT_EQ(Read(mem + "/memory.limit_in_bytes"), "268435456");
  EXPECT_EQ(Read(mem + "/memory.soft_limit_in_bytes"), "134217728");
  EXPECT_EQ(Read(cpu + "/cpu.shares"), "512");
  EXPECT_EQ(Read(cpu + "/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(Read(cpu + "/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Read(pids + "/pids.max"), "64");

  // With swap accounting, memory+swap is held to the same limit.
  Write(mem + "/memory.memsw.limit_in_bytes", "-1");
  ASSERT_TRUE(cgroups.Create("task-7", SomeLimits()).ok());
  EXPECT_EQ(Read(mem + "/memory.memsw.limit_in_bytes"), "268435456");

  Write(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  EXPECT_EQ(cgroups.OomKills("task-7"), 3u);
}

TEST(WorkloadCgroups, NoHierarchyRunsWithoutLimitsOnly) {
  WorkloadCgroups none(CgroupLayout{}, "annex-workloads");
  EXPECT_FALSE(none.available());
  EXPECT_TRUE(none.Create("w", ResourceLimits{}).ok());
  EXPECT_EQ(none.Create("w", SomeLimits()).status().code(), StatusCode::kFailedPrecondition);
}

TEST(WorkloadCgroups, ParsesOomKillLines) {
  EXPECT_EQ(ParseOomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"), 7u);
  EXPECT_EQ(ParseOomKills("oom 1\noom_kill 0\n"), 0u);
  EXPECT_EQ(ParseOomKills(""), 0u);
}

}  // namespace
}  // namespace annex::supervisor
