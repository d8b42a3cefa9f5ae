// The supervisor's lifecycle with real processes: start and exit status,
// records that survive a reopen, graceful stop with SIGKILL after the grace,
// restart policies with backoff and crash loops, start failures, and what a
// restarted annexd finds: live workloads adopted, runs that ended while it
// was down reported and restarted, unrecorded processes killed.

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "tests/unit/appliance/supervisor/supervisor_fixture.h"

namespace annex::supervisor {
namespace {

TEST_F(SupervisorTest, StartsAWorkloadAndRecordsHowItEnded) {
  auto started = sup_->Start("hello", Shell("echo hello from $$; echo oops >&2; exit 3"), Never());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->run, 1u);
  EXPECT_GT(started->pid, 0);
  WorkloadState ended = WaitPhase("hello", WorkloadPhase::kExited);
  ASSERT_TRUE(ended.last_exit.has_value());
  EXPECT_TRUE(ended.last_exit->known);
  EXPECT_EQ(ended.last_exit->status.Describe(), "exit code 3");
  EXPECT_FALSE(ended.last_exit->oom_killed);
  EXPECT_EQ(ReadFile(ended.stdout_path), "hello from " + std::to_string(started->pid) + "\n");
  EXPECT_EQ(ReadFile(ended.stderr_path), "oops\n");
  EXPECT_EQ(ended.stdout_path, ended.state_dir + "/stdout.log") << "a stable name a forwarder can tail";

  Reopen();  // the record is durable
  auto again = sup_->Get("hello");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->phase, WorkloadPhase::kExited);
  EXPECT_EQ(again->last_exit->status.code, 3);
  EXPECT_EQ(sup_->recovery().adopted, 0u);

  // Starting an exited workload again is a new run; output is appended.
  ASSERT_TRUE(sup_->Start("hello", Shell("echo second"), Never()).ok());
  EXPECT_EQ(WaitPhase("hello", WorkloadPhase::kExited).run, 2u);
  EXPECT_NE(ReadFile(ended.stdout_path).find("second\n"), std::string::npos);
}

TEST_F(SupervisorTest, ASecondSupervisorOnTheSameDataDirIsRefused) {
  Supervisor::Options o;
  o.data_dir = dir_.path() + "/supervisor";
  o.shim_path = ANNEX_SHIM_PATH;
  o.cgroup_root = root_;
  EXPECT_EQ(Supervisor::Open(o).status().code(), StatusCode::kUnavailable);
  o.shim_path = dir_.path() + "/no-shim";
  EXPECT_EQ(Supervisor::Open(o).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SupervisorTest, AWorkloadRunsInItsOwnSessionAndCgroup) {
  auto w = sup_->Start("sleeper", Shell("exec sleep 30"), Never());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->phase, WorkloadPhase::kRunning);
  EXPECT_TRUE(Alive(w->pid));
  EXPECT_TRUE(Alive(w->shim_pid));
  EXPECT_EQ(::getsid(w->pid), w->pid) << "a session of its own: annexd's terminal or group signals miss it";
  auto procs = sup_->cgroups().Procs("sleeper");
  EXPECT_NE(std::find(procs.begin(), procs.end(), w->pid), procs.end());
  EXPECT_NE(ReadFile("/proc/" + std::to_string(w->pid) + "/cgroup").find("/" + root_ + "/sleeper"),
            std::string::npos);
  EXPECT_EQ(sup_->Start("sleeper", Shell("true"), Never()).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(sup_->Remove("sleeper").code(), StatusCode::kFailedPrecondition);
  auto stopped = sup_->Stop("sleeper");
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->last_exit->status.signal, SIGTERM);
  EXPECT_FALSE(Alive(w->pid));
  ASSERT_TRUE(sup_->Remove("sleeper").ok());
  EXPECT_FALSE(std::filesystem::exists(w->state_dir));
  EXPECT_FALSE(sup_->Get("sleeper").has_value());
}

// Nothing of annexd's — a listening socket a careless library left without
// close-on-exec, LMDB files — lives on in a workload.
TEST_F(SupervisorTest, AWorkloadInheritsNoDescriptorOfTheSupervisor) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);  // no close-on-exec
  ASSERT_GE(listener, 0);
  auto w = sup_->Start("fds", Shell("ls /proc/self/fd | tr '\\n' ' '"), Never());
  ::close(listener);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  WaitPhase("fds", WorkloadPhase::kExited);
  // 0-2, and the descriptor ls itself opens to list /proc/self/fd.
  EXPECT_EQ(ReadFile(w->stdout_path), "0 1 2 3 ");
}

TEST_F(SupervisorTest, StopKillsAWorkloadThatIgnoresTermAfterTheGrace) {
  auto w = sup_->Start("stubborn", Shell("trap '' TERM; echo ready; while :; do sleep 0.05; done"), Never());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WaitOutput(*w, "ready"));
  auto t0 = std::chrono::steady_clock::now();
  auto stopped = sup_->Stop("stubborn", 300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->last_exit->status.signal, SIGKILL);
  EXPECT_EQ(stopped->phase, WorkloadPhase::kExited);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(sup_->cgroups().Procs("stubborn").empty()) << "its sleep children went with it";
}

// RequestStop returns at once; the monitor still escalates to SIGKILL after the grace.
TEST_F(SupervisorTest, RequestStopReturnsAtOnceAndTheMonitorFinishesTheStop) {
  auto w = sup_->Start("stubborn", Shell("trap '' TERM; echo ready; while :; do sleep 0.05; done"), Never());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WaitOutput(*w, "ready"));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(sup_->RequestStop("stubborn", 300ms).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms) << "it did not wait for the grace";
  EXPECT_EQ(sup_->Get("stubborn")->phase, WorkloadPhase::kStopping);
  WaitPhase("stubborn", WorkloadPhase::kExited);
  EXPECT_EQ(sup_->Get("stubborn")->last_exit->status.signal, SIGKILL);
  EXPECT_TRUE(sup_->Get("stubborn")->stop_requested);
  EXPECT_TRUE(sup_->RequestStop("no-such").IsNotFound());
}

TEST_F(SupervisorTest, StartFailuresAreReportedAndLeaveNothingRunning) {
  WorkloadSpec missing = Shell("");
  missing.argv = {"/no/such/program"};
  EXPECT_TRUE(sup_->Start("missing", missing, Never()).status().IsNotFound());
  WorkloadSpec bad_dir = Shell("true");
  bad_dir.working_dir = "/no/such/dir";
  EXPECT_EQ(sup_->Start("bad-dir", bad_dir, Never()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sup_->Start("../escape", Shell("true"), Never()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(sup_->List().empty());
  EXPECT_TRUE(sup_->cgroups().Ids().empty()) << "no cgroup left behind";
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/supervisor/workloads/missing"));
  // The record committed while the shim tried is gone too: a restart finds nothing.
  Reopen();
  EXPECT_TRUE(sup_->List().empty());

  // A failed start of a workload that had run before leaves its last run on record.
  ASSERT_TRUE(sup_->Start("again", Shell("exit 4"), Never()).ok());
  WaitPhase("again", WorkloadPhase::kExited);
  EXPECT_TRUE(sup_->Start("again", missing, Never()).status().IsNotFound());
  Reopen();
  auto kept = sup_->Get("again");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->phase, WorkloadPhase::kExited);
  EXPECT_EQ(kept->run, 1u);
  ASSERT_TRUE(kept->last_exit.has_value());
  EXPECT_EQ(kept->last_exit->status.code, 4);
}

TEST_F(SupervisorTest, RestartsBackOffDoublingIntoACrashLoop) {
  RestartPolicy p;
  p.mode = RestartMode::kOnFailure;
  p.initial_backoff = 300ms;
  p.max_backoff = 1200ms;
  p.healthy_after = 30s;
  p.crash_loop_restarts = 3;
  p.crash_loop_window = 1min;
  ASSERT_TRUE(sup_->Start("crashy", Shell("echo run; exit 1"), p).ok());
  std::vector<int64_t> starts;
  for (uint64_t run = 1; run <= 4; ++run) {
    auto s = sup_->WaitFor("crashy", [&](const WorkloadState& w) { return w.run >= run; }, 10s);
    ASSERT_TRUE(s && s->run >= run);
    starts.push_back(s->started_unix_ms);
  }
  // Gaps: the run and its start plus 300, 600, then 1200 ms (a crash loop:
  // the longest); a start on a loaded machine may take a few tens of ms.
  std::vector<int64_t> gaps = {starts[1] - starts[0], starts[2] - starts[1], starts[3] - starts[2]};
  EXPECT_GE(gaps[0], 300);
  EXPECT_GE(gaps[1], 600);
  EXPECT_GE(gaps[2], 1200);
  EXPECT_LT(gaps[0], 600) << "backoff starts at the initial one";
  EXPECT_LT(gaps[1], 1200) << "and doubles";
  auto looping =
      sup_->WaitFor("crashy", [](const WorkloadState& w) { return w.phase == WorkloadPhase::kCrashLoop; }, 5s);
  ASSERT_TRUE(looping.has_value());
  EXPECT_EQ(looping->phase, WorkloadPhase::kCrashLoop);
  EXPECT_TRUE(looping->crash_loop);
  EXPECT_GE(looping->restarts, 3u);
  EXPECT_EQ(looping->last_exit->status.code, 1);

  auto stopped = sup_->Stop("crashy");  // stops the loop: no further run
  ASSERT_TRUE(stopped.ok());
  uint64_t runs = stopped->run;
  std::this_thread::sleep_for(1500ms);  // past the longest backoff
  EXPECT_EQ(sup_->Get("crashy")->run, runs);
  EXPECT_EQ(sup_->Get("crashy")->phase, WorkloadPhase::kExited);
}

TEST_F(SupervisorTest, PoliciesDecideWhetherARunIsRestarted) {
  RestartPolicy on_failure;
  on_failure.initial_backoff = 10ms;
  ASSERT_TRUE(sup_->Start("clean-exit", Shell("exit 0"), on_failure).ok());
  EXPECT_EQ(WaitPhase("clean-exit", WorkloadPhase::kExited).restarts, 0u);
  ASSERT_TRUE(sup_->Start("never", Shell("exit 1"), Never()).ok());
  EXPECT_EQ(WaitPhase("never", WorkloadPhase::kExited).restarts, 0u);
  RestartPolicy always = on_failure;
  always.mode = RestartMode::kAlways;
  ASSERT_TRUE(sup_->Start("always", Shell("exit 0"), always).ok());
  auto s = sup_->WaitFor("always", [](const WorkloadState& w) { return w.restarts >= 2; }, 10s);
  ASSERT_TRUE(s.has_value());
  EXPECT_GE(s->restarts, 2u);
}

// Restart timers run on the injectable clock: a backoff of an hour passes
// when the clock is moved, not before.
TEST_F(SupervisorTest, RestartTimersFollowTheInjectedClock) {
  Reopen(&manual_clock_);
  RestartPolicy p;
  p.initial_backoff = std::chrono::hours(1);
  ASSERT_TRUE(sup_->Start("patient", Shell("exit 1"), p).ok());
  WaitPhase("patient", WorkloadPhase::kRestarting);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sup_->Get("patient")->run, 1u) << "no restart before the clock moves";
  manual_clock_.Advance(std::chrono::hours(1));
  auto s = sup_->WaitFor("patient", [](const WorkloadState& w) { return w.run >= 2; }, 5s);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->run, 2u);
  EXPECT_EQ(s->restarts, 1u);
}

TEST_F(SupervisorTest, AReopenedSupervisorAdoptsRunningWorkloads) {
  std::vector<WorkloadState> started;
  for (const char* id : {"a", "b", "c"}) {
    auto w = sup_->Start(id, Shell("while :; do echo tick; sleep 0.05; done"), Never());
    ASSERT_TRUE(w.ok());
    started.push_back(*w);
  }
  sup_.reset();  // as if annexd went away: the workloads keep running and writing
  for (const auto& w : started) EXPECT_TRUE(Alive(w.pid)) << w.id;
  size_t before = ReadFile(started[0].stdout_path).size();
  std::this_thread::sleep_for(200ms);
  EXPECT_GT(ReadFile(started[0].stdout_path).size(), before) << "output goes on while nobody watches";
  Reopen();
  EXPECT_EQ(sup_->recovery().adopted, 3u);
  for (const auto& w : started) {
    auto now = sup_->Get(w.id);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->phase, WorkloadPhase::kRunning);
    EXPECT_EQ(now->pid, w.pid);
    EXPECT_EQ(now->run, 1u);
  }
  // Adopted workloads are still watched: an exit is noticed and stops work.
  ASSERT_TRUE(::kill(started[1].pid, SIGKILL) == 0);
  WorkloadState b = WaitPhase("b", WorkloadPhase::kExited);
  EXPECT_EQ(b.last_exit->status.signal, SIGKILL);
  auto stopped = sup_->Stop("c", 2s);
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_FALSE(Alive(started[2].pid));
}

TEST_F(SupervisorTest, ARunThatEndedWhileDownIsReportedAndRestarted) {
  RestartPolicy p;
  p.mode = RestartMode::kOnFailure;
  p.initial_backoff = 50ms;
  auto w = sup_->Start("victim", Shell("while :; do sleep 0.05; done"), p);
  ASSERT_TRUE(w.ok());
  sup_.reset();
  ASSERT_EQ(::kill(w->pid, SIGKILL), 0);
  // The shim records the end and exits; here it is this test's child, so
  // reap it as init would for a real annexd that died.
  for (int i = 0; i < 500 && ::waitpid(w->shim_pid, nullptr, WNOHANG) != w->shim_pid; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  Reopen();
  EXPECT_EQ(sup_->recovery().ended_while_down, 1u);
  auto restarted = sup_->WaitFor("victim", [](const WorkloadState& s) { return s.run == 2; }, 10s);
  ASSERT_TRUE(restarted.has_value());
  EXPECT_EQ(restarted->phase, WorkloadPhase::kRunning);
  ASSERT_TRUE(restarted->last_exit.has_value());
  EXPECT_TRUE(restarted->last_exit->known) << "the shim recorded it";
  EXPECT_EQ(restarted->last_exit->status.signal, SIGKILL);
  EXPECT_EQ(restarted->restarts, 1u);
  EXPECT_NE(restarted->pid, w->pid);
}

TEST_F(SupervisorTest, ProcessesNoRecordOwnsAreKilledOnOpen) {
  // A start cut short by a crash: cgroup and process exist, the record never did.
  WorkloadCgroups cgroups(layout_, root_);
  auto paths = cgroups.Create("ghost", ResourceLimits{});
  ASSERT_TRUE(paths.ok());
  std::string state = dir_.path() + "/supervisor/workloads/ghost";
  std::filesystem::create_directories(state);
  auto run = ShimLauncher(ANNEX_SHIM_PATH).Launch(Shell("sleep 30"), state, 1, *paths, state + "/out", state + "/err");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  Reopen();
  EXPECT_GE(sup_->recovery().orphans_killed, 1u);
  for (int i = 0; i < 200 && Alive(run->pid); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(Alive(run->pid));
  ::waitpid(run->shim_pid, nullptr, 0);
  ::close(run->shim_pidfd);
  EXPECT_TRUE(cgroups.Ids().empty());
  EXPECT_FALSE(std::filesystem::exists(state));
}

}  // namespace
}  // namespace annex::supervisor
