// Runs real containers under crun and runc from a busybox root: what a
// task's process sees (user, environment, directory, pid 1, its own root)
// and what the host sees afterwards (exit status, the overlay's upper
// directory, no mount or runtime state left).

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "services/containers/container_user.h"
#include "services/containers/image_config.h"
#include "services/containers/oci_bundle.h"
#include "services/containers/oci_runtime.h"

namespace annex::containers {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The cgroup v1 hierarchies a test run joins (empty when there are none).
std::vector<std::string> V1Hierarchies() {
  std::vector<std::string> out;
  for (const char* h : {"memory", "pids"}) {
    std::string dir = std::string("/sys/fs/cgroup/") + h;
    if (::access((dir + "/cgroup.procs").c_str(), W_OK) == 0) out.push_back(dir);
  }
  return out;
}

class OciRunTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "running containers needs root";
    binary_ = GetParam() == RuntimeKind::kCrun ? "/usr/bin/crun" : "/usr/sbin/runc";
    if (::access(binary_.c_str(), X_OK) != 0) GTEST_SKIP() << binary_ << " is not installed";
    if (::access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "busybox-static is not installed";
    if (GetParam() == RuntimeKind::kCrun) {
      // What SelectRuntime does before it picks crun on a hybrid machine.
      auto rt = SelectRuntime({.state_root = "/tmp/unused"});
      if (!rt.ok()) GTEST_SKIP() << "no runtime here: " << rt.status().ToString();
      if (rt->kind() != RuntimeKind::kCrun) GTEST_SKIP() << "crun cannot run here: " << rt->reason();
    }
    char tmpl[] = "/tmp/annex-oci-run-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    MakeImage(base_ + "/image");
    fs::create_directories(base_ + "/out");
    fs::permissions(base_ + "/out", fs::perms::all);
    std::ofstream(base_ + "/host-secret") << "host only\n";
    id_ = "annex-run-" + std::to_string(::getpid()) + (GetParam() == RuntimeKind::kCrun ? "-crun" : "-runc");
    runtime_ = std::make_unique<OciRuntime>(GetParam(), binary_, base_ + "/state");
    for (const auto& h : V1Hierarchies()) {
      std::string dir = h + "/annex-test-" + std::to_string(::getpid());
      if (::mkdir(dir.c_str(), 0755) == 0) cgroups_.push_back(dir);
    }
  }

  void TearDown() override {
    if (base_.empty()) return;
    Status deleted = runtime_->Delete(id_);
    EXPECT_TRUE(deleted.ok()) << deleted.ToString();
    Status removed = RemoveBundle(base_ + "/bundle");
    EXPECT_TRUE(removed.ok()) << removed.ToString();
    if (!removed.ok()) ::umount2((base_ + "/bundle/rootfs").c_str(), MNT_DETACH);  // leave no mount behind
    // No child cgroup left behind: rmdir fails on a cgroup that has one.
    for (const auto& dir : cgroups_) EXPECT_EQ(::rmdir(dir.c_str()), 0) << dir << ": " << std::strerror(errno);
    EXPECT_EQ(Read("/proc/self/mountinfo").find(base_), std::string::npos);
    if (std::getenv("ANNEX_KEEP")) return;
    std::error_code ec;
    fs::remove_all(base_, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  static void MakeImage(const std::string& root) {
    for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp", "work", "out", "root"}) {
      fs::create_directories(root + "/" + d);
    }
    fs::copy_file("/bin/busybox", root + "/bin/busybox");
    for (const char* applet : {"sh", "id", "pwd", "cat", "echo", "ls", "wc", "hostname", "sleep", "touch"}) {
      fs::create_symlink("busybox", root + "/bin/" + applet);
    }
    std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/work:/bin/sh\n";
    std::ofstream(root + "/etc/group") << "root:x:0:\napp:x:1000:\nextra:x:2000:app\n";
    ASSERT_EQ(::chown((root + "/work").c_str(), 1000, 1000), 0);
    fs::permissions(root + "/tmp", fs::perms::all | fs::perms::sticky_bit);
  }

  // Image config + overrides → launch, as the task runtime will do it.
  ContainerLaunch Launch(std::vector<std::string> command) {
    ImageConfig image;
    image.cmd = {"sh"};
    image.env = {"FOO=from-image", "KEEP=1"};
    image.working_dir = "/work";
    image.user = "app";
    ContainerOverrides o;
    o.command = std::move(command);
    o.env = {"FOO=bar"};
    auto p = MergeImageConfig(image, o, "web");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    auto user = ResolveContainerUser(base_ + "/image", p->user);
    EXPECT_TRUE(user.ok()) << user.status().ToString();
    ContainerLaunch l;
    l.id = id_;
    l.rootfs_dir = base_ + "/image";
    l.bundle_dir = base_ + "/bundle";
    l.argv = p->argv;
    l.env = p->env;
    l.working_dir = p->working_dir;
    l.uid = user->uid;
    l.gid = user->gid;
    l.additional_gids = user->additional_gids;
    l.hostname = "web";
    l.binds = {{base_ + "/out", "/out", false}};
    return l;
  }

  // Starts the runtime's argv from the test's own cgroup (as the shim would
  // from the workload's); returns its pid.
  pid_t Start(const ContainerLaunch& l) {
    std::vector<std::string> argv = runtime_->RunArgv(l.bundle_dir, l.id);
    pid_t pid = ::fork();
    if (pid == 0) {
      for (const auto& dir : cgroups_) {
        std::ofstream(dir + "/cgroup.procs") << ::getpid() << "\n";
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return pid;
  }

  static int Wait(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  bool WaitForFile(const std::string& path) {
    for (int i = 0; i < 500; ++i) {
      if (fs::exists(path)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::string binary_, base_, id_;
  std::unique_ptr<OciRuntime> runtime_;
  std::vector<std::string> cgroups_;
};

TEST_P(OciRunTest, RunsTheProcessAsConfiguredInsideItsOwnRoot) {
  std::string script =
      "{ echo uid=$(id -u) gid=$(id -g) groups=$(id -G); echo cwd=$(pwd); echo foo=$FOO keep=$KEEP;"
      "  echo pid=$$; echo host=$(hostname); if [ -e /proc/" + std::to_string(::getpid()) + " ]; then echo hostpid=visible; else echo hostpid=hidden; fi;"
      "  if [ -e " + base_ + "/host-secret ]; then echo secret=visible; else echo secret=hidden; fi;"
      "  cat /proc/self/cgroup; } > /out/result 2>&1;"
      "echo from-container > /work/written; exit 7";
  ContainerLaunch l = Launch({"sh", "-c", script});
  ASSERT_TRUE(CreateBundle(l).ok());
  EXPECT_NE(Read("/proc/self/mountinfo").find(l.bundle_dir + "/rootfs"), std::string::npos);

  EXPECT_EQ(Wait(Start(l)), 7);

  std::string result = Read(base_ + "/out/result");
  EXPECT_NE(result.find("uid=1000 gid=1000 groups=1000 2000\n"), std::string::npos) << result;
  EXPECT_NE(result.find("cwd=/work\n"), std::string::npos) << result;
  EXPECT_NE(result.find("foo=bar keep=1\n"), std::string::npos) << result;
  EXPECT_NE(result.find("pid=1\n"), std::string::npos) << result;
  EXPECT_NE(result.find("host=web\n"), std::string::npos) << result;
  EXPECT_NE(result.find("hostpid=hidden\n"), std::string::npos) << result;  // its /proc shows its own only
  EXPECT_NE(result.find("secret=hidden\n"), std::string::npos) << result;
  if (!cgroups_.empty()) {
    // The container stayed within the cgroup its runtime was started in.
    EXPECT_NE(result.find(":memory:/annex-test-" + std::to_string(::getpid())), std::string::npos) << result;
  }
  EXPECT_EQ(Read(base_ + "/bundle/upper/work/written"), "from-container\n");
  EXPECT_FALSE(fs::exists(base_ + "/image/work/written"));
}

TEST_P(OciRunTest, ForwardsSignalsAndCleansUpAfterTheRuntimeIsKilled) {
  ContainerLaunch l = Launch({"sh", "-c", "trap 'exit 42' TERM; touch /out/ready; while :; do touch /out/alive; sleep 0.05; done"});
  ASSERT_TRUE(CreateBundle(l).ok());
  pid_t pid = Start(l);
  ASSERT_TRUE(WaitForFile(base_ + "/out/ready"));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_EQ(Wait(pid), 42);
  EXPECT_TRUE(runtime_->Delete(id_).ok());

  // The runtime dies uncleanly: its state and the container stay until Delete.
  fs::remove(base_ + "/out/ready");
  pid = Start(l);
  ASSERT_TRUE(WaitForFile(base_ + "/out/ready"));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  Wait(pid);
  EXPECT_TRUE(fs::exists(base_ + "/state/" + id_));
  EXPECT_TRUE(runtime_->Delete(id_).ok());
  EXPECT_FALSE(fs::exists(base_ + "/state/" + id_));
  // The container is gone too: it no longer touches its file.
  fs::remove(base_ + "/out/alive");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(fs::exists(base_ + "/out/alive"));
  EXPECT_EQ(runtime_->Kill(id_, SIGTERM).code(), StatusCode::kNotFound);
}

TEST_P(OciRunTest, ReadOnlyRootRefusesWrites) {
  ContainerLaunch l = Launch({"sh", "-c", "echo x > /work/f 2>/dev/null && exit 1; echo ok > /out/ro; exit 0"});
  l.read_only_root = true;
  ASSERT_TRUE(CreateBundle(l).ok());
  EXPECT_EQ(Wait(Start(l)), 0);
  EXPECT_EQ(Read(base_ + "/out/ro"), "ok\n");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, OciRunTest, ::testing::Values(RuntimeKind::kCrun, RuntimeKind::kRunc),
                         [](const auto& info) { return info.param == RuntimeKind::kCrun ? "crun" : "runc"; });

}  // namespace
}  // namespace annex::containers
