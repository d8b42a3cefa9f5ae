#pragma once
// WorkloadSpec: everything the supervisor needs to start one workload —
// what to run, as whom, in which namespaces, with which limits. A service
// (containers, databases, functions) fills one in; the supervisor stores it
// with the workload's record and starts it again from it after a crash.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "appliance/core/status.h"

namespace annex::supervisor {

// Limits enforced through the workload's cgroup. 0 means "no limit".
struct ResourceLimits {
  uint64_t memory_max_bytes = 0;  // hard: past it the kernel's OOM killer acts
  uint64_t memory_low_bytes = 0;  // soft: reclaimed from last under memory pressure (ECS memoryReservation)
  uint32_t cpu_weight = 0;        // 1-10000, cgroup v2 scale (100 = default share); v1 cpu.shares = weight*1024/100
  uint64_t cpu_quota_us = 0;      // CPU time per period; with period 100 ms, 50'000 is half a core
  uint64_t cpu_period_us = 100'000;
  uint64_t pids_max = 0;          // processes and threads the workload may have at once
};

// One setrlimit(2) for the workload, e.g. {RLIMIT_NOFILE, 1024, 1024}.
struct Rlimit {
  int resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// New namespaces for the workload; unset ones are shared with the host.
struct Namespaces {
  bool pid = false;      // it sees itself as pid 1 (with `mount`, /proc shows only its own)
  bool mount = false;    // mount changes stay inside; / is made private
  bool network = false;  // only a loopback device
  bool uts = false;      // its own hostname (see `hostname`)
  bool ipc = false;
};

// Where the supervisor's output forwarder (output_forwarder.h) sends each
// line the workload writes to stdout or stderr: a log stream of the
// appliance's log store, as ECS's awslogs driver or RDS's log exports name
// one. An empty group keeps the output in the workload's files only.
struct LogDestination {
  std::string account;  // the owner's account id
  std::string group;    // "/ecs/web", "/aws/rds/instance/db1/postgresql"
  std::string stream;   // "web/app/<task-id>"
  bool empty() const { return group.empty(); }
};

struct WorkloadSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path; PATH is not searched
  std::vector<std::string> env;   // "NAME=value", exactly what the workload gets
  std::string working_dir = "/";  // entered after switching user
  // Who it runs as; nullopt-like -1 keeps the supervisor's (root).
  int64_t uid = -1;
  int64_t gid = -1;
  std::vector<gid_t> supplementary_groups;  // with uid set: exactly these (none if empty)
  Namespaces namespaces;
  std::string hostname;  // with namespaces.uts
  ResourceLimits limits;
  std::vector<Rlimit> rlimits;
  // Stop(): stop_signal, then SIGKILL after stop_grace. PostgreSQL takes
  // SIGINT as its fast shutdown; SIGTERM would wait for every client.
  int stop_signal = SIGTERM;
  std::chrono::milliseconds stop_grace{10'000};
  LogDestination log;
};

// InvalidArgument naming the first field that cannot work (relative argv[0],
// empty argv, a hostname without a UTS namespace, limits out of range).
Status ValidateSpec(const WorkloadSpec& spec);

}  // namespace annex::supervisor
