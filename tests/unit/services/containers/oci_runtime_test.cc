#include "services/containers/oci_runtime.h"

#include <csignal>
#include <set>

#include <gtest/gtest.h>

namespace annex::containers {
namespace {

using Strings = std::vector<std::string>;

supervisor::CgroupLayout Hybrid(std::string unified_controllers) {
  supervisor::CgroupLayout l;
  l.mode = supervisor::CgroupMode::kHybrid;
  l.unified_mount = "/sys/fs/cgroup/unified";
  l.unified_controllers = std::move(unified_controllers);
  for (const char* c : {"cpu", "memory", "pids"}) l.v1_controllers[c] = std::string("/sys/fs/cgroup/") + c;
  return l;
}

class FakeHost : public RuntimeHost {
 public:
  bool IsExecutable(const std::string& path) override { return executables.count(path) > 0; }
  bool Exists(const std::string& path) override { return existing.count(path) > 0; }
  Result<supervisor::CgroupLayout> DetectCgroups() override { return layout; }
  Status MountV1Controller(const std::string& controller, const std::string& dir) override {
    mounted.push_back(controller + "@" + dir);
    if (!mount_error.ok()) return mount_error;
    layout.unified_controllers.clear();
    layout.v1_controllers[controller] = dir;
    return Status::OK();
  }
  Result<Output> Run(const std::vector<std::string>& argv) override {
    runs.push_back(argv);
    if (!run_removes.empty()) existing.erase(run_removes);
    return Output{run_exit, run_stderr};
  }

  std::set<std::string> executables = {"/usr/bin/crun", "/usr/sbin/runc"};
  std::set<std::string> existing;
  supervisor::CgroupLayout layout = Hybrid("");
  Status mount_error;
  Strings mounted;
  std::vector<Strings> runs;
  int run_exit = 0;
  std::string run_stderr;
  std::string run_removes;
};

OciRuntime::Options Opts() {
  OciRuntime::Options o;
  o.state_root = "/var/lib/annex/containers/runtime";
  return o;
}

TEST(SelectRuntime, CrunWhenNothingBlocksIt) {
  FakeHost host;
  auto rt = SelectRuntime(Opts(), host);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  EXPECT_EQ(rt->kind(), RuntimeKind::kCrun);
  EXPECT_TRUE(host.mounted.empty());
  EXPECT_EQ(rt->RunArgv("/b/t1", "t1"),
            Strings({"/usr/bin/crun", "--root", "/var/lib/annex/containers/runtime", "--cgroup-manager=disabled",
                     "run", "--bundle", "/b/t1", "t1"}));
}

TEST(SelectRuntime, MountsHugetlbAsV1ThenUsesCrun) {
  FakeHost host;
  host.layout = Hybrid("hugetlb");
  auto rt = SelectRuntime(Opts(), host);
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ(rt->kind(), RuntimeKind::kCrun);
  EXPECT_EQ(host.mounted, Strings({"hugetlb@/sys/fs/cgroup/hugetlb"}));
}

TEST(SelectRuntime, FallsBackToRuncWithTheReasonWhenTheMountFails) {
  FakeHost host;
  host.layout = Hybrid("hugetlb");
  host.mount_error = Status::FromErrno(EROFS, "mkdir /sys/fs/cgroup/hugetlb");
  auto rt = SelectRuntime(Opts(), host);
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ(rt->kind(), RuntimeKind::kRunc);
  EXPECT_NE(rt->reason().find("hugetlb"), std::string::npos) << rt->reason();
  // runc has no "disabled" manager: it gets the plain run.
  EXPECT_EQ(rt->RunArgv("/b/t1", "t1"),
            Strings({"/usr/sbin/runc", "--root", "/var/lib/annex/containers/runtime", "run", "--bundle", "/b/t1",
                     "t1"}));
}

TEST(SelectRuntime, RuncWhenCrunIsMissing) {
  FakeHost host;
  host.executables.erase("/usr/bin/crun");
  auto rt = SelectRuntime(Opts(), host);
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ(rt->kind(), RuntimeKind::kRunc);
  EXPECT_NE(rt->reason().find("crun missing"), std::string::npos);
}

TEST(SelectRuntime, NoRuntimeOrRuncOnCgroupV2IsRefused) {
  FakeHost host;
  host.executables.clear();
  EXPECT_EQ(SelectRuntime(Opts(), host).status().code(), StatusCode::kFailedPrecondition);
  FakeHost v2;
  v2.layout.mode = supervisor::CgroupMode::kUnified;
  v2.layout.v1_controllers.clear();
  v2.layout.unified_controllers = "cpu memory pids hugetlb";
  EXPECT_EQ(SelectRuntime(Opts(), v2)->kind(), RuntimeKind::kCrun);  // v2 alone suits crun as is
  EXPECT_TRUE(v2.mounted.empty());
  v2.executables.erase("/usr/bin/crun");
  auto rt = SelectRuntime(Opts(), v2);
  EXPECT_EQ(rt.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rt.status().message().find("outside"), std::string::npos);
}

TEST(OciRuntime, WorkloadSpecRunsTheRuntimeUnderTheLimits) {
  FakeHost host;
  OciRuntime rt(RuntimeKind::kCrun, "/usr/bin/crun", "/state", host);
  supervisor::ResourceLimits limits;
  limits.memory_max_bytes = 512 << 20;
  limits.pids_max = 100;
  supervisor::WorkloadSpec spec = rt.WorkloadFor("/b/t1", "t1", limits);
  EXPECT_EQ(spec.argv, rt.RunArgv("/b/t1", "t1"));
  EXPECT_EQ(spec.limits.memory_max_bytes, limits.memory_max_bytes);
  EXPECT_EQ(spec.uid, -1);
  EXPECT_FALSE(spec.namespaces.pid || spec.namespaces.mount || spec.namespaces.network);
  EXPECT_TRUE(supervisor::ValidateSpec(spec).ok());
}

TEST(OciRuntime, KillAndDeleteUseTheRuntimesState) {
  FakeHost host;
  OciRuntime rt(RuntimeKind::kCrun, "/usr/bin/crun", "/state", host);
  EXPECT_TRUE(rt.Delete("t1").ok());  // nothing left: nothing run
  EXPECT_TRUE(host.runs.empty());
  EXPECT_EQ(rt.Kill("t1", SIGTERM).code(), StatusCode::kNotFound);

  host.existing.insert("/state/t1");
  EXPECT_TRUE(rt.Kill("t1", SIGTERM).ok());
  EXPECT_EQ(host.runs.back(),
            Strings({"/usr/bin/crun", "--root", "/state", "--cgroup-manager=disabled", "kill", "t1", "15"}));
  host.run_removes = "/state/t1";
  EXPECT_TRUE(rt.Delete("t1").ok());
  EXPECT_EQ(host.runs.back(),
            Strings({"/usr/bin/crun", "--root", "/state", "--cgroup-manager=disabled", "delete", "-f", "t1"}));

  host.existing.insert("/state/t2");
  host.run_removes.clear();
  host.run_exit = 1;
  host.run_stderr = "boom\n";
  Status s = rt.Delete("t2");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  EXPECT_EQ(rt.Delete("../etc").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace annex::containers
