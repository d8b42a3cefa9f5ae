#pragma once
// A Supervisor on a fresh data dir and a cgroup subtree of its own
// (annex-test-<pid>-<n> in every hierarchy), removed with every workload
// afterwards. Real processes, cgroups and namespaces: it needs root and a
// cgroup hierarchy, and says so when it skips.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "appliance/supervisor/supervisor.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::supervisor {

using namespace std::chrono_literals;

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: workloads get cgroups, namespaces and other users";
    auto layout = DetectCgroupLayout();
    if (!layout.ok() || layout->mode == CgroupMode::kNone) GTEST_SKIP() << "needs a cgroup hierarchy";
    layout_ = *layout;
    static std::atomic<int> counter{0};
    root_ = "annex-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    Reopen();
  }

  void TearDown() override {
    if (!sup_) return;
    for (const WorkloadState& w : sup_->List()) {
      // Whatever its phase: a workload due to restart may be running again by now.
      sup_->Stop(w.id, 0ms).status().IgnoreError();
      EXPECT_TRUE(sup_->Remove(w.id).ok()) << w.id;
    }
    sup_.reset();
    EXPECT_TRUE(WorkloadCgroups(layout_, root_).RemoveRoot().ok());
  }

  // Closes the supervisor (its workloads keep running) and opens it again.
  void Reopen(os::Clock* clock = nullptr) {
    sup_.reset();
    Supervisor::Options o;
    o.data_dir = dir_.path() + "/supervisor";
    o.shim_path = ANNEX_SHIM_PATH;
    o.cgroup_root = root_;
    o.clock = clock;
    o.max_sleep = 20ms;
    o.layout = layout_;
    auto s = Supervisor::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sup_ = std::move(*s);
  }

  static WorkloadSpec Shell(std::string script) {
    WorkloadSpec spec;
    spec.argv = {"/bin/sh", "-c", std::move(script)};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.stop_grace = 5s;
    return spec;
  }

  static RestartPolicy Never() {
    RestartPolicy p;
    p.mode = RestartMode::kNever;
    return p;
  }

  WorkloadState WaitPhase(const std::string& id, WorkloadPhase phase, std::chrono::milliseconds timeout = 10s) {
    auto s = sup_->WaitFor(id, [&](const WorkloadState& w) { return w.phase == phase; }, timeout);
    EXPECT_TRUE(s.has_value()) << id << " vanished";
    if (!s) return {};
    EXPECT_EQ(s->phase, phase) << id << " is " << WorkloadPhaseName(s->phase);
    return *s;
  }

  // Waits until the workload's stdout holds `text`.
  bool WaitOutput(const WorkloadState& w, const std::string& text, std::chrono::milliseconds timeout = 10s) {
    for (auto until = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < until;) {
      if (ReadFile(w.stdout_path).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  annex::testing::TempDir dir_;
  os::ManualClock manual_clock_{std::chrono::system_clock::now()};  // outlives sup_
  CgroupLayout layout_;
  std::string root_;
  std::unique_ptr<Supervisor> sup_;
};

}  // namespace annex::supervisor
