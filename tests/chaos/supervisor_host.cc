// supervisor-host: a stand-in for annexd in the supervisor crash test
// (supervisor_crash_test.py). Opens a Supervisor on a data dir, makes sure
// `--children` counter workloads exist (each appends 0, 1, 2, … to its
// stdout every ~50 ms, restarted on failure), and every 50 ms writes what
// the supervisor reports to <data-dir>/status.json (atomically), until it
// is killed. With `--churn`, a thread starts, stops and removes workloads
// "churn-*" over and over, so a kill can land between a spawn and its record.
// `--cleanup` stops and removes every workload and the cgroup root instead.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "appliance/supervisor/supervisor.h"

namespace {

using namespace annex::supervisor;
using namespace std::chrono_literals;

std::atomic<bool> g_stop{false};

nlohmann::json ToJson(const WorkloadState& w) {
  nlohmann::json j = {{"id", w.id},
                      {"phase", std::string(WorkloadPhaseName(w.phase))},
                      {"run", w.run},
                      {"restarts", w.restarts},
                      {"crash_loop", w.crash_loop},
                      {"pid", w.pid},
                      {"shim_pid", w.shim_pid},
                      {"stdout", w.stdout_path}};
  if (w.last_exit) {
    j["last_exit"] = {{"known", w.last_exit->known},
                      {"exited", w.last_exit->status.exited},
                      {"code", w.last_exit->status.code},
                      {"signal", w.last_exit->status.signal},
                      {"oom_killed", w.last_exit->oom_killed}};
  }
  return j;
}

void WriteStatus(const Supervisor& sup, const std::string& dir) {
  nlohmann::json j = {{"adopted", sup.recovery().adopted},
                      {"ended_while_down", sup.recovery().ended_while_down},
                      {"orphans_killed", sup.recovery().orphans_killed},
                      {"host_pid", ::getpid()},
                      {"workloads", nlohmann::json::array()}};
  for (const auto& w : sup.List()) j["workloads"].push_back(ToJson(w));
  std::string tmp = dir + "/status.json.tmp";
  {
    std::ofstream out(tmp);
    out << j.dump();
  }
  std::rename(tmp.c_str(), (dir + "/status.json").c_str());
}

WorkloadSpec Counter() {
  WorkloadSpec spec;
  spec.argv = {"/bin/sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done"};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.limits.memory_max_bytes = 64 << 20;
  spec.limits.pids_max = 16;
  spec.stop_grace = 1s;
  return spec;
}

// Start, stop, remove, again, each time under a new id: every start is a
// spawn whose record a kill may cut off, and no later start reuses (and so
// cleans up) the cgroup of one that was cut off.
void Churn(Supervisor& sup) {
  WorkloadSpec spec;
  spec.argv = {"/bin/sleep", "30"};
  spec.stop_grace = 0ms;
  RestartPolicy never;
  never.mode = RestartMode::kNever;
  for (const auto& w : sup.List()) {  // adopted from the host before us
    if (w.id.rfind("churn-", 0) != 0) continue;
    sup.Stop(w.id, 0ms).status().IgnoreError();
    sup.Remove(w.id).IgnoreError();
  }
  for (uint64_t n = 0; !g_stop; ++n) {
    std::string id = "churn-" + std::to_string(::getpid()) + "-" + std::to_string(n);
    if (sup.Start(id, spec, never).ok()) {
      std::this_thread::sleep_for(20ms);
      sup.Stop(id, 0ms).status().IgnoreError();
    }
    sup.Remove(id).IgnoreError();
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"supervisor crash-test host"};
  std::string data_dir, shim, cgroup_root;
  int children = 20;
  bool cleanup = false, churn = false;
  app.add_option("--data-dir", data_dir)->required();
  app.add_option("--shim", shim)->required();
  app.add_option("--cgroup-root", cgroup_root)->required();
  app.add_option("--children", children);
  app.add_flag("--cleanup", cleanup, "stop and remove every workload, then exit");
  app.add_flag("--churn", churn, "keep starting and removing one more workload");
  CLI11_PARSE(app, argc, argv);

  Supervisor::Options options;
  options.data_dir = data_dir + "/supervisor";
  options.shim_path = shim;
  options.cgroup_root = cgroup_root;
  auto sup = Supervisor::Open(options);
  if (!sup.ok()) {
    std::fprintf(stderr, "open: %s\n", sup.status().ToString().c_str());
    return 1;
  }
  if (cleanup) {
    int failures = 0;
    for (const auto& w : (*sup)->List()) {
      // Whatever its phase: one due to restart may be running again by now.
      failures += !(*sup)->Stop(w.id, 200ms).ok();
      failures += !(*sup)->Remove(w.id).ok();
    }
    failures += !(*sup)->cgroups().RemoveRoot().ok();
    return failures == 0 ? 0 : 1;
  }
  RestartPolicy policy;
  policy.mode = RestartMode::kOnFailure;
  policy.initial_backoff = 100ms;
  for (int i = 0; i < children; ++i) {
    std::string id = "counter-" + std::to_string(i);
    if ((*sup)->Get(id)) continue;  // adopted (or restarted) from its record
    auto started = (*sup)->Start(id, Counter(), policy);
    if (!started.ok()) {
      std::fprintf(stderr, "start %s: %s\n", id.c_str(), started.status().ToString().c_str());
      return 1;
    }
  }
  ::signal(SIGTERM, [](int) { g_stop = true; });
  std::thread churner;
  if (churn) churner = std::thread([&] { Churn(**sup); });
  while (!g_stop) {
    WriteStatus(**sup, data_dir);
    std::this_thread::sleep_for(50ms);
  }
  if (churner.joinable()) churner.join();
  return 0;  // the workloads keep running
}
