// What confines a workload, checked from inside it: cgroup limits (OOM kill
// reported as such, a fork bomb held at its pids limit, the v1 or v2 files
// this machine uses), namespaces, user and groups, rlimits.

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "appliance/core/strings.h"
#include "tests/unit/appliance/supervisor/supervisor_fixture.h"

namespace annex::supervisor {
namespace {

TEST_F(SupervisorTest, AWorkloadPastItsMemoryLimitIsOomKilledAndReportedSo) {
  WorkloadSpec spec = Shell("");
  // 256 MiB written (not just reserved) against a 64 MiB limit.
  spec.argv = {"/usr/bin/python3", "-c", "x = bytes(range(256)) * (1 << 20); print('survived')"};
  spec.limits.memory_max_bytes = 64 << 20;
  ASSERT_TRUE(sup_->Start("hog", spec, Never()).ok());
  WorkloadState ended = WaitPhase("hog", WorkloadPhase::kExited, 30s);
  ASSERT_TRUE(ended.last_exit.has_value());
  EXPECT_TRUE(ended.last_exit->oom_killed) << ended.last_exit->status.Describe();
  EXPECT_EQ(ended.last_exit->status.signal, SIGKILL);
  EXPECT_EQ(ReadFile(ended.stdout_path), "");

  // Within its limit it runs, and no OOM is reported.
  spec.argv = {"/usr/bin/python3", "-c", "x = bytes(range(256)) * (1 << 14); print('survived')"};
  ASSERT_TRUE(sup_->Start("hog", spec, Never()).ok());
  ended = WaitPhase("hog", WorkloadPhase::kExited, 30s);
  EXPECT_FALSE(ended.last_exit->oom_killed);
  EXPECT_EQ(ended.last_exit->status.Describe(), "exit code 0");
}

TEST_F(SupervisorTest, AForkBombStopsAtThePidsLimit) {
  WorkloadSpec spec = Shell("");
  spec.argv = {"/usr/bin/python3", "-c",
               "import os, time\n"
               "ok = refused = 0\n"
               "for i in range(200):\n"
               "    try:\n"
               "        pid = os.fork()\n"
               "    except OSError:\n"
               "        refused += 1\n"
               "        continue\n"
               "    if pid == 0:\n"
               "        time.sleep(30)\n"
               "        os._exit(0)\n"
               "    ok += 1\n"
               "print('forked', ok, 'refused', refused, flush=True)\n"
               "time.sleep(30)\n"};
  spec.limits.pids_max = 20;
  auto w = sup_->Start("bomb", spec, Never());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(WaitOutput(*w, "forked", 30s)) << ReadFile(w->stderr_path);
  // 20 processes: the workload and 19 children; its shim is not counted against it.
  EXPECT_EQ(ReadFile(w->stdout_path), "forked 19 refused 181\n");
  EXPECT_EQ(sup_->cgroups().Procs("bomb").size(), 21u);
  auto stopped = sup_->Stop("bomb", 200ms);
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(sup_->cgroups().Procs("bomb").empty()) << "every process of it is gone";
}

TEST_F(SupervisorTest, LimitsLandInThisMachinesCgroupFiles) {
  WorkloadSpec spec = Shell("exec sleep 30");
  spec.limits = {.memory_max_bytes = 96 << 20, .memory_low_bytes = 32 << 20, .cpu_weight = 50, .cpu_quota_us = 25'000,
                 .cpu_period_us = 100'000, .pids_max = 10};
  ASSERT_TRUE(sup_->Start("limited", spec, Never()).ok());
  if (layout_.mode == CgroupMode::kUnified) {
    std::string dir = layout_.unified_mount + "/" + root_ + "/limited";
    EXPECT_EQ(ReadFile(dir + "/memory.max"), "100663296\n");
    EXPECT_EQ(ReadFile(dir + "/memory.low"), "33554432\n");
    EXPECT_EQ(ReadFile(dir + "/cpu.weight"), "50\n");
    EXPECT_EQ(ReadFile(dir + "/cpu.max"), "25000 100000\n");
    EXPECT_EQ(ReadFile(dir + "/pids.max"), "11\n") << "one more for the shim";
  } else {
    auto at = [&](const char* controller) { return layout_.v1_controllers.at(controller) + "/" + root_ + "/limited"; };
    EXPECT_EQ(ReadFile(at("memory") + "/memory.limit_in_bytes"), "100663296\n");
    EXPECT_EQ(ReadFile(at("memory") + "/memory.soft_limit_in_bytes"), "33554432\n");
    EXPECT_EQ(ReadFile(at("cpu") + "/cpu.shares"), "512\n");
    EXPECT_EQ(ReadFile(at("cpu") + "/cpu.cfs_quota_us"), "25000\n");
    EXPECT_EQ(ReadFile(at("pids") + "/pids.max"), "11\n") << "one more for the shim";
  }
}

// The v2 code path on a real cgroup2 file system: the hybrid machines' empty
// unified hierarchy has no controllers, so no limits, but joining works.
TEST_F(SupervisorTest, OnAV2HierarchyAWorkloadJoinsItsCgroupBeforeItRuns) {
  if (layout_.unified_mount.empty()) GTEST_SKIP() << "needs a cgroup2 mount";
  if (layout_.mode != CgroupMode::kUnified) {  // hybrid: use its v2 half alone
    layout_.mode = CgroupMode::kUnified;
    layout_.v1_controllers.clear();
    Reopen();
  }
  WorkloadSpec spec = Shell("cat /proc/self/cgroup");
  auto w = sup_->Start("on-v2", spec, Never());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  WorkloadState ended = WaitPhase("on-v2", WorkloadPhase::kExited);
  EXPECT_NE(ReadFile(ended.stdout_path).find("0::/" + root_ + "/on-v2\n"), std::string::npos)
      << ReadFile(ended.stdout_path);
  if (layout_.unified_controllers.find("memory") == std::string::npos) {
    spec.limits.memory_max_bytes = 64 << 20;
    EXPECT_EQ(sup_->Start("on-v2", spec, Never()).status().code(), StatusCode::kFailedPrecondition)
        << "a limit the hierarchy cannot enforce is refused, not ignored";
  }
}

TEST_F(SupervisorTest, NamespacesGiveAWorkloadItsOwnPidsHostnameAndNetwork) {
  WorkloadSpec spec = Shell(
      "echo pid=$$; echo host=$(cat /proc/sys/kernel/hostname); "
      "echo procs=$(ls /proc | grep -c '^[0-9]'); echo links=$(grep -c : /proc/net/dev)");
  spec.namespaces = {.pid = true, .mount = true, .network = true, .uts = true, .ipc = true};
  spec.hostname = "annex-isolated";
  ASSERT_TRUE(sup_->Start("isolated", spec, Never()).ok());
  WorkloadState ended = WaitPhase("isolated", WorkloadPhase::kExited);
  std::string out = ReadFile(ended.stdout_path);
  EXPECT_NE(out.find("pid=1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("host=annex-isolated\n"), std::string::npos) << out;
  EXPECT_NE(out.find("links=1\n"), std::string::npos) << "only loopback: " << out;
  // Its own /proc: itself and the few commands of that line, not the host's processes.
  auto procs = out.substr(out.find("procs=") + 6);
  EXPECT_LT(std::stoi(procs), 10) << out;
  EXPECT_NE(ReadFile("/proc/sys/kernel/hostname"), "annex-isolated\n") << "the host keeps its name";
  EXPECT_EQ(ended.last_exit->status.Describe(), "exit code 0");
}

TEST_F(SupervisorTest, AWorkloadRunsAsItsUserWithExactlyItsGroups) {
  WorkloadSpec spec = Shell("grep -E '^(Uid|Gid|Groups):' /proc/self/status; touch /root/x 2>&1 || echo denied");
  spec.uid = 65534;
  spec.gid = 65534;
  spec.supplementary_groups = {100, 4242};
  ASSERT_TRUE(sup_->Start("nobody", spec, Never()).ok());
  WorkloadState ended = WaitPhase("nobody", WorkloadPhase::kExited);
  std::string out = ReadFile(ended.stdout_path);
  EXPECT_NE(out.find("Uid:\t65534\t65534\t65534\t65534\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Gid:\t65534\t65534\t65534\t65534\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Groups:\t100 4242"), std::string::npos) << out;
  EXPECT_NE(out.find("denied"), std::string::npos) << "root's files are out of reach: " << out;
}

TEST_F(SupervisorTest, RlimitsApplyToTheWorkload) {
  WorkloadSpec spec = Shell("ulimit -n; ulimit -Hn");
  spec.rlimits = {{RLIMIT_NOFILE, 64, 128}};
  ASSERT_TRUE(sup_->Start("limited-fds", spec, Never()).ok());
  EXPECT_EQ(ReadFile(WaitPhase("limited-fds", WorkloadPhase::kExited).stdout_path), "64\n128\n");
}

}  // namespace
}  // namespace annex::supervisor
