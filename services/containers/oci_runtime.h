#pragma once
// OciRuntime: which OCI runtime runs this appliance's containers and how
// the supervisor starts one.
//
// crun is preferred (about half runc's start time). crun 1.8 refuses the
// hybrid cgroup layout while the v2 hierarchy holds a controller
// ("cgroups in hybrid mode not supported, drop all controllers from
// cgroupv2"); on this hardware that is hugetlb, which no v1 hierarchy
// mounts. SelectRuntime mounts each such controller as a v1 hierarchy
// beside the others (/sys/fs/cgroup/hugetlb), which moves it out of v2, and
// falls back to runc, logging why, when that fails.
//
// The runtime runs in the foreground (`run`): its process waits for the
// container, forwards signals to it and exits with its exit status, so the
// supervisor's shim records the container's end. It stays in the cgroup the
// supervisor started it in, with the limits already written:
//
//   crun  --cgroup-manager=disabled: crun touches no cgroup; the container
//         stays in the runtime's own cgroup.
//   runc  has no such switch. With no linux.cgroupsPath, runc's cgroupfs
//         driver names the container's cgroup "<id>" relative to its own
//         cgroup in each v1 hierarchy, so the container runs in
//         <workload cgroup>/<id>, a child within the workload's memory, cpu
//         and pids limits (v1 limits are hierarchical), removed when runc
//         exits. On cgroup v2 runc resolves a relative path against the
//         PARENT of its own cgroup: the container would land beside the
//         workload's cgroup, outside its limits, so runc is refused there.
//
// Thread-safe after construction.

#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/supervisor/cgroup_layout.h"
#include "appliance/supervisor/workload_spec.h"

namespace annex::containers {

// What SelectRuntime and OciRuntime need from the machine.
class RuntimeHost {
 public:
  virtual ~RuntimeHost() = default;
  virtual bool IsExecutable(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<supervisor::CgroupLayout> DetectCgroups() = 0;
  // mkdir -p `dir` && mount -t cgroup -o `controller` cgroup `dir`.
  virtual Status MountV1Controller(const std::string& controller, const std::string& dir) = 0;
  struct Output {
    int exit_code = -1;   // -1: killed by a signal
    std::string stderr_text;
  };
  // Runs `argv` (absolute argv[0]) to completion.
  virtual Result<Output> Run(const std::vector<std::string>& argv) = 0;
};

// This machine.
RuntimeHost& SystemRuntimeHost();

enum class RuntimeKind { kCrun, kRunc };

class OciRuntime {
 public:
  struct Options {
    std::string state_root;  // required: the runtime's --root, under the appliance data dir
    std::string crun_path = "/usr/bin/crun";
    std::string runc_path = "/usr/sbin/runc";
  };

  OciRuntime(RuntimeKind kind, std::string binary, std::string state_root, RuntimeHost& host = SystemRuntimeHost());

  RuntimeKind kind() const { return kind_; }
  const std::string& binary() const { return binary_; }
  const std::string& state_root() const { return state_root_; }
  // Why this runtime was chosen ("crun", "runc: crun missing at /usr/bin/crun", …).
  const std::string& reason() const { return reason_; }

  // The argv that runs container `id` from `bundle_dir` in the foreground.
  // REQUIRES: no state of `id` left (Delete(id) after a crash).
  std::vector<std::string> RunArgv(const std::string& bundle_dir, const std::string& id) const;

  // A WorkloadSpec the supervisor starts it from: the runtime as root, in
  // no namespace of the supervisor's (the runtime makes the container's),
  // under `limits`. The caller fills in stop_grace and log.
  supervisor::WorkloadSpec WorkloadFor(const std::string& bundle_dir, const std::string& id,
                                       const supervisor::ResourceLimits& limits) const;

  // The argv that runs `command` inside running container `id` (health checks).
  std::vector<std::string> ExecArgv(const std::string& id, const std::vector<std::string>& command) const;
  // Sends `signal` to the container's init. NotFound when the runtime has no
  // state of `id`.
  Status Kill(const std::string& id, int signal) const;
  // Kills whatever is left of container `id` and removes the runtime's state
  // of it (after the runtime process died uncleanly). OK when none is left.
  Status Delete(const std::string& id) const;

 private:
  friend Result<OciRuntime> SelectRuntime(const Options&, RuntimeHost&);
  std::vector<std::string> Base() const;

  RuntimeKind kind_;
  std::string binary_;
  std::string state_root_;
  RuntimeHost* host_;
  std::string reason_;
};

// Picks crun, preparing the hybrid cgroup layout for it when needed, else
// runc. FailedPrecondition when neither can run containers here.
Result<OciRuntime> SelectRuntime(const OciRuntime::Options& options, RuntimeHost& host = SystemRuntimeHost());

// The controllers crun 1.8 wants out of the v2 hierarchy before it runs on
// `layout` (empty: none, or not hybrid).
std::vector<std::string> ControllersBlockingCrun(const supervisor::CgroupLayout& layout);

}  // namespace annex::containers
