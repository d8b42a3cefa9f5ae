#pragma once
// WorkloadCgroups: the cgroup subtree annexd owns for its workloads, one
// cgroup per workload, `<hierarchy>/<root>/<workload id>`, apart from
// annexd's own cgroup so limits and kills never reach annexd.
//
//   v2 (unified)    one hierarchy; memory, cpu and pids enabled through
//                   cgroup.subtree_control on the way down to <root>;
//                   memory.max, memory.swap.max, cpu.weight, cpu.max,
//                   pids.max; OOM kills from memory.events.
//   v1 / hybrid     the memory, cpu and pids hierarchies, each mounted on
//                   its own (or cpu,cpuacct together); memory.limit_in_bytes
//                   (+ memsw when swap accounting exists), cpu.shares,
//                   cpu.cfs_period_us/cfs_quota_us, pids.max; OOM kills from
//                   memory.oom_control's oom_kill line.
//
// A workload's cgroup is kept across its restarts (its limits rewritten on
// each start) and removed with it. Thread-safe: it holds no mutable state.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/supervisor/cgroup_layout.h"
#include "appliance/supervisor/workload_spec.h"

namespace annex::supervisor {

// Where one workload's cgroup lives: the directories a process joins (one per
// hierarchy) and the file that counts its OOM kills (empty: none to read).
struct CgroupPaths {
  std::vector<std::string> dirs;
  std::string oom_events;
};

class WorkloadCgroups {
 public:
  // `root` is a relative path under each hierarchy's mount, e.g.
  // "annex-workloads" (tests use a unique one and RemoveRoot() afterwards).
  WorkloadCgroups(CgroupLayout layout, std::string root);

  // False when the machine offers no cgroup hierarchy we can use.
  bool available() const { return !hierarchies_.empty(); }
  CgroupMode mode() const { return layout_.mode; }

  // Creates (or keeps) the workload's cgroup and writes every limit — unset
  // ones as "unlimited", so a changed spec takes effect on restart.
  // FailedPrecondition when a limit is asked of a controller that is missing.
  Result<CgroupPaths> Create(const std::string& id, const ResourceLimits& limits) const;
  // The paths Create() returned, without touching anything.
  CgroupPaths PathsOf(const std::string& id) const;

  // Processes in the workload's cgroup (empty when it has none or no cgroup).
  std::vector<pid_t> Procs(const std::string& id) const;
  // SIGKILLs every process in it except `spare` (the shim) until none is
  // left; returns how many processes were killed. Bounded: a fork bomb within its
  // pids limit is outpaced within a few rounds.
  size_t KillAll(const std::string& id, pid_t spare) const;
  // OOM kills counted in its cgroup since it was created.
  uint64_t OomKills(const std::string& id) const;
  // Removes its cgroup in every hierarchy (it must hold no process).
  Status Remove(const std::string& id) const;
  // Ids of every workload cgroup under the root, in any hierarchy.
  std::vector<std::string> Ids() const;
  // Removes the (empty) root itself; for tests that made a unique one.
  Status RemoveRoot() const;

 private:
  struct Hierarchy {
    std::string mount;        // where it is mounted
    std::vector<std::string> controllers;  // of memory, cpu, pids: the ones it carries
  };
  std::string DirOf(const Hierarchy& h, const std::string& id) const { return h.mount + "/" + root_ + "/" + id; }
  Status EnableV2Controllers(const Hierarchy& h) const;
  Status WriteV1Limits(const Hierarchy& h, const std::string& dir, const ResourceLimits& limits) const;
  Status WriteV2Limits(const std::string& dir, const ResourceLimits& limits) const;
  bool Has(const std::string& controller) const;

  CgroupLayout layout_;
  std::string root_;
  bool unified_ = false;
  std::vector<Hierarchy> hierarchies_;
};

// Parses the "oom_kill N" line of memory.events / memory.oom_control text.
uint64_t ParseOomKills(std::string_view events);

}  // namespace annex::supervisor
