#include "services/containers/oci_runtime.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"
#include "services/containers/oci_spec.h"

extern char** environ;

namespace annex::containers {
namespace {

constexpr char kRuntimePath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

class SystemHost final : public RuntimeHost {
 public:
  bool IsExecutable(const std::string& path) override { return ::access(path.c_str(), X_OK) == 0; }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Result<supervisor::CgroupLayout> DetectCgroups() override { return supervisor::DetectCgroupLayout(); }

  Status MountV1Controller(const std::string& controller, const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::FromErrno(errno, "mkdir " + dir);
    if (::mount("cgroup", dir.c_str(), "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, controller.c_str()) != 0) {
      int err = errno;
      ::rmdir(dir.c_str());  // only succeeds if we made it and it is empty
      return Status::FromErrno(err, "mount cgroup v1 " + controller + " at " + dir);
    }
    return Status::OK();
  }

  Result<Output> Run(const std::vector<std::string>& argv) override {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    // annexd's sockets are not close-on-exec (Asio opens them plainly): a
    // runtime holding one would keep a client's connection or the listening
    // port alive after annexd closes it or dies.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    char* env[] = {const_cast<char*>(kRuntimePath), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      return Status::FromErrno(rc, "spawn " + argv[0]);
    }
    Output out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0 && out.stderr_text.size() < 65536) out.stderr_text.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return Status::FromErrno(errno, "waitpid " + argv[0]);
    }
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  }
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Moves what blocks crun out of cgroup v2; the reason it cannot otherwise.
Status PrepareCgroupsForCrun(const supervisor::CgroupLayout& layout, RuntimeHost& host) {
  std::vector<std::string> blocking = ControllersBlockingCrun(layout);
  if (blocking.empty()) return Status::OK();
  if (layout.v1_controllers.empty()) return Status::FailedPrecondition("no v1 hierarchy to mount beside");
  std::string base = os::DirName(layout.v1_controllers.begin()->second);
  for (const auto& c : blocking) {
    ANNEX_RETURN_IF_ERROR(host.MountV1Controller(c, base + "/" + c));
    log::Info("mounted a cgroup v1 hierarchy for crun", {{"controller", c}, {"at", base + "/" + c}});
  }
  ANNEX_ASSIGN_OR_RETURN(supervisor::CgroupLayout after, host.DetectCgroups());
  if (!ControllersBlockingCrun(after).empty()) {
    return Status::FailedPrecondition("cgroup v2 still holds controllers: " + after.unified_controllers);
  }
  return Status::OK();
}

}  // namespace

RuntimeHost& SystemRuntimeHost() {
  static SystemHost* host = new SystemHost();
  return *host;
}

std::vector<std::string> ControllersBlockingCrun(const supervisor::CgroupLayout& layout) {
  std::vector<std::string> out;
  if (layout.mode != supervisor::CgroupMode::kHybrid) return out;
  const std::string& s = layout.unified_controllers;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find_first_of(" \n", pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

OciRuntime::OciRuntime(RuntimeKind kind, std::string binary, std::string state_root, RuntimeHost& host)
    : kind_(kind), binary_(std::move(binary)), state_root_(std::move(state_root)), host_(&host),
      reason_(kind == RuntimeKind::kCrun ? "crun" : "runc") {}

std::vector<std::string> OciRuntime::Base() const {
  std::vector<std::string> argv = {binary_, "--root", state_root_};
  if (kind_ == RuntimeKind::kCrun) argv.push_back("--cgroup-manager=disabled");
  return argv;
}

std::vector<std::string> OciRuntime::RunArgv(const std::string& bundle_dir, const std::string& id) const {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), {"run", "--bundle", bundle_dir, id});
  return argv;
}

std::vector<std::string> OciRuntime::ExecArgv(const std::string& id, const std::vector<std::string>& command) const {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), {"exec", id});
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

supervisor::WorkloadSpec OciRuntime::WorkloadFor(const std::string& bundle_dir, const std::string& id,
                                                 const supervisor::ResourceLimits& limits) const {
  supervisor::WorkloadSpec spec;
  spec.argv = RunArgv(bundle_dir, id);
  spec.env = {kRuntimePath};
  spec.working_dir = bundle_dir;
  spec.limits = limits;
  return spec;
}

Status OciRuntime::Kill(const std::string& id, int signal) const {
  if (!IsValidContainerId(id)) return Status::InvalidArgument("bad container id " + id);
  if (!host_->Exists(state_root_ + "/" + id)) return Status::NotFound("no container " + id);
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), {"kill", id, std::to_string(signal)});
  ANNEX_ASSIGN_OR_RETURN(RuntimeHost::Output out, host_->Run(argv));
  if (out.exit_code == 0) return Status::OK();
  if (!host_->Exists(state_root_ + "/" + id)) return Status::NotFound("no container " + id);
  return Status::Internal(binary_ + " kill " + id + ": " + Trim(out.stderr_text));
}

Status OciRuntime::Delete(const std::string& id) const {
  if (!IsValidContainerId(id)) return Status::InvalidArgument("bad container id " + id);
  if (!host_->Exists(state_root_ + "/" + id)) return Status::OK();
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), {"delete", "-f", id});
  ANNEX_ASSIGN_OR_RETURN(RuntimeHost::Output out, host_->Run(argv));
  if (out.exit_code == 0 || !host_->Exists(state_root_ + "/" + id)) return Status::OK();
  return Status::Internal(binary_ + " delete " + id + ": " + Trim(out.stderr_text));
}

Result<OciRuntime> SelectRuntime(const OciRuntime::Options& options, RuntimeHost& host) {
  if (options.state_root.empty() || options.state_root[0] != '/') {
    return Status::InvalidArgument("runtime state root must be an absolute path");
  }
  ANNEX_ASSIGN_OR_RETURN(supervisor::CgroupLayout layout, host.DetectCgroups());
  std::string why_not_crun;
  if (!host.IsExecutable(options.crun_path)) {
    why_not_crun = "crun missing at " + options.crun_path;
  } else if (Status s = PrepareCgroupsForCrun(layout, host); !s.ok()) {
    why_not_crun = "crun cannot run on this hybrid cgroup layout: " + s.ToString();
  } else {
    OciRuntime rt(RuntimeKind::kCrun, options.crun_path, options.state_root, host);
    log::Info("container runtime", {{"runtime", "crun"}, {"cgroups", layout.Describe()}});
    return rt;
  }
  if (!host.IsExecutable(options.runc_path)) {
    return Status::FailedPrecondition("no OCI runtime: " + why_not_crun + "; runc missing at " + options.runc_path);
  }
  if (layout.mode == supervisor::CgroupMode::kUnified) {
    return Status::FailedPrecondition(why_not_crun +
                                      "; runc would run containers outside their workload's cgroup on cgroup v2");
  }
  OciRuntime rt(RuntimeKind::kRunc, options.runc_path, options.state_root, host);
  rt.reason_ = "runc: " + why_not_crun;
  log::Warn("container runtime falls back to runc", {{"reason", why_not_crun}, {"cgroups", layout.Describe()}});
  return rt;
}

}  // namespace annex::containers
