// The supervisor (`make bench`, tests/bench/supervisor_bench.sh), as root:
//   1. spawn-to-running: Supervisor::Start of a /bin/true workload (its
//      cgroup, the shim's exec and cgroup join, the workload's exec, the
//      durable record) against fork+exec of /bin/true by hand (the peer), and
//      against fork + cgroup join + exec by hand (what the kernel charges for
//      the join alone), and a supervisor without cgroups (what the joins
//      cost it), interleaved so all four see the same machine;
//   2. 500 idle supervised workloads: how much the supervising process grows
//      per workload (RSS), and what each shim holds.
// Prints one JSON line.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "appliance/store/lmdb_env.h"
#include "appliance/supervisor/supervisor.h"

namespace {

using namespace annex::supervisor;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// "VmRSS:  1234 kB" and friends from /proc/PID/status, in KiB.
long StatusKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return 0;
}

// fork, optionally join `cgroup_procs` (pre-opened), exec /bin/true; the
// time until exec has happened (the close-on-exec pipe reads EOF).
double ForkExec(const std::vector<int>& cgroup_procs) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) std::abort();
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* const envp[] = {nullptr};
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    for (int fd : cgroup_procs) {
      if (::write(fd, "0", 1) != 1) ::_exit(126);
    }
    ::execve(argv[0], argv, envp);
    ::_exit(127);
  }
  ::close(report[1]);
  char c;
  while (::read(report[0], &c, 1) > 0) {
  }
  double ms = Ms(Clock::now() - t0);
  ::close(report[0]);
  ::waitpid(pid, nullptr, 0);
  return ms;
}

// One durable LMDB commit of a workload-sized record: the part of a
// supervised start that makes its record survive a crash.
std::vector<double> DurableCommits(const std::string& dir, int n) {
  auto env = annex::store::LmdbEnv::Open(dir);
  if (!env.ok()) std::abort();
  auto table = (*env)->OpenTable("workloads");
  std::string value(400, 'w');
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    auto txn = (*env)->BeginWrite();
    if (!txn.ok() || !txn->Put(*table, "w" + std::to_string(i), value).ok() || !txn->Commit().ok()) std::abort();
    out.push_back(Ms(Clock::now() - t0));
  }
  return out;
}

nlohmann::json Summary(const std::vector<double>& v) {
  return {{"p50_ms", Percentile(v, 0.5)}, {"p90_ms", Percentile(v, 0.9)}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"supervisor benchmark"};
  std::string dir, shim;
  int iterations = 200, children = 500;
  app.add_option("--dir", dir, "work directory (on the disk under test)")->required();
  app.add_option("--shim", shim, "annex-shim")->required();
  app.add_option("--iterations", iterations, "spawns per variant");
  app.add_option("--children", children, "idle workloads for the memory run");
  CLI11_PARSE(app, argc, argv);

  Supervisor::Options options;
  options.data_dir = dir + "/supervisor";
  options.shim_path = shim;
  options.cgroup_root = "annex-bench-" + std::to_string(::getpid());
  auto opened = Supervisor::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().ToString().c_str());
    return 1;
  }
  Supervisor& sup = **opened;
  Supervisor::Options bare = options;  // the same, without cgroups
  bare.data_dir = dir + "/bare";
  bare.layout = CgroupLayout{};
  auto opened_bare = Supervisor::Open(bare);
  if (!opened_bare.ok()) return 1;
  RestartPolicy never;
  never.mode = RestartMode::kNever;
  WorkloadSpec spec;
  spec.argv = {"/bin/true"};

  // The by-hand cgroup join goes to a cgroup of the same subtree.
  auto paths = sup.cgroups().Create("by-hand", ResourceLimits{});
  if (!paths.ok()) return 1;
  std::vector<int> procs;
  for (const auto& d : paths->dirs) procs.push_back(::open((d + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));

  std::vector<double> peer, joined, supervised, without_cgroups;
  for (int i = 0; i < iterations; ++i) {
    peer.push_back(ForkExec({}));
    joined.push_back(ForkExec(procs));
    std::string id = "true-" + std::to_string(i);
    auto t0 = Clock::now();
    auto started = sup.Start(id, spec, never);
    supervised.push_back(Ms(Clock::now() - t0));
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      return 1;
    }
    sup.WaitFor(id, [](const WorkloadState& w) { return w.phase == WorkloadPhase::kExited; }, 10s);
    if (!sup.Remove(id).ok()) return 1;
    t0 = Clock::now();
    if (!(*opened_bare)->Start(id, spec, never).ok()) return 1;
    without_cgroups.push_back(Ms(Clock::now() - t0));
    (*opened_bare)->WaitFor(id, [](const WorkloadState& w) { return w.phase == WorkloadPhase::kExited; }, 10s);
    if (!(*opened_bare)->Remove(id).ok()) return 1;
  }
  for (int fd : procs) ::close(fd);
  std::vector<double> commits = DurableCommits(dir + "/commit-peer", iterations);
  sup.cgroups().Remove("by-hand").IgnoreError();

  // Idle workloads: what the supervising process holds per workload.
  WorkloadSpec idle;
  idle.argv = {"/bin/sleep", "3600"};
  idle.stop_grace = 0ms;
  long rss_before = StatusKib(::getpid(), "VmRSS"), anon_before = StatusKib(::getpid(), "RssAnon");
  long shim_rss = 0;
  for (int i = 0; i < children; ++i) {
    auto started = sup.Start("idle-" + std::to_string(i), idle, never);
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
      return 1;
    }
    shim_rss += StatusKib(started->shim_pid, "VmRSS");
  }
  std::this_thread::sleep_for(500ms);
  long rss_after = StatusKib(::getpid(), "VmRSS"), anon_after = StatusKib(::getpid(), "RssAnon");
  int still_running = 0;
  for (const auto& w : sup.List()) still_running += w.phase == WorkloadPhase::kRunning;
  for (int i = 0; i < children; ++i) {
    std::string id = "idle-" + std::to_string(i);
    if (!sup.Stop(id, 0ms).ok() || !sup.Remove(id).ok()) return 1;
  }
  sup.cgroups().RemoveRoot().IgnoreError();

  nlohmann::json out = {
      {"iterations", iterations},
      {"fork_exec", Summary(peer)},
      {"fork_join_exec", Summary(joined)},
      {"supervised", Summary(supervised)},
      {"supervised_without_cgroups", Summary(without_cgroups)},
      {"durable_commit", Summary(commits)},
      {"ratio_p50", Percentile(supervised, 0.5) / Percentile(peer, 0.5)},
      {"ratio_p50_vs_join", Percentile(supervised, 0.5) / Percentile(joined, 0.5)},
      {"children", children},
      {"running", still_running},
      {"rss_kib_per_child", static_cast<double>(rss_after - rss_before) / children},
      {"anon_kib_per_child", static_cast<double>(anon_after - anon_before) / children},
      {"shim_rss_kib", static_cast<double>(shim_rss) / children}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
