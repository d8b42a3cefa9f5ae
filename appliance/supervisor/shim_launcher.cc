#include "appliance/supervisor/shim_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "appliance/core/strings.h"
#include "appliance/supervisor/process_identity.h"
#include "appliance/supervisor/shim/shim_protocol.h"

namespace annex::supervisor {
namespace {

// How long the shim may take to join the cgroups and exec the workload
// (each cgroup join waits for an RCU grace period: milliseconds, not seconds).
constexpr int kReportTimeoutMs = 30'000;

std::vector<std::string> ShimArgv(const std::string& shim, const WorkloadSpec& spec, const std::string& state_dir,
                                  uint64_t run, const CgroupPaths& cgroups, const std::string& out,
                                  const std::string& err) {
  std::vector<std::string> a = {shim, "--state", state_dir, "--run", std::to_string(run)};
  auto add = [&a](const char* flag, std::string value) {
    a.emplace_back(flag);
    a.push_back(std::move(value));
  };
  for (const auto& dir : cgroups.dirs) add("--cgroup", dir);
  if (!cgroups.oom_events.empty()) add("--oom-file", cgroups.oom_events);
  add("--stdout", out);
  add("--stderr", err);
  add("--cwd", spec.working_dir);
  if (spec.uid >= 0) add("--uid", std::to_string(spec.uid));
  if (spec.gid >= 0) add("--gid", std::to_string(spec.gid));
  if (!spec.supplementary_groups.empty()) {
    std::string groups;
    for (gid_t g : spec.supplementary_groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
    add("--groups", groups);
  }
  const Namespaces& ns = spec.namespaces;
  std::string names;
  for (auto [on, name] : {std::pair{ns.pid, "pid"}, {ns.mount, "mount"}, {ns.network, "net"}, {ns.uts, "uts"},
                          {ns.ipc, "ipc"}}) {
    if (on) names += (names.empty() ? "" : ",") + std::string(name);
  }
  if (!names.empty()) add("--ns", names);
  if (!spec.hostname.empty()) add("--hostname", spec.hostname);
  for (const Rlimit& r : spec.rlimits) {
    add("--rlimit", std::to_string(r.resource) + ":" + std::to_string(r.soft) + ":" + std::to_string(r.hard));
  }
  a.emplace_back("--");
  a.insert(a.end(), spec.argv.begin(), spec.argv.end());
  return a;
}

// Reads the shim's one-line report (or whatever came before EOF).
Result<std::string> ReadReport(int fd) {
  std::string line;
  char buf[256];
  while (line.find('\n') == std::string::npos) {
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ::poll(&p, 1, kReportTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return Status::Unavailable("annex-shim did not report within 30 s");
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  return line;
}

Status StartError(std::string_view stage, int e, const std::string& program) {
  std::string what = "cannot start " + program + " (" + std::string(stage) + "): " + ::strerror(e);
  if (stage == "exec" && e == ENOENT) return Status::NotFound(what);
  if (e == EACCES || e == EPERM) return Status::PermissionDenied(what);
  if (stage == "exec" || stage == "cwd" || stage == "user" || stage == "hostname" || stage == "rlimits") {
    return Status::InvalidArgument(what);
  }
  return Status::FromErrno(e, what);
}

// posix_spawn of the shim: own session, default signals, stdin /dev/null,
// its own messages to shim.log, the report pipe as kReportFd, nothing else.
Result<pid_t> SpawnShim(const std::vector<std::string>& args, const WorkloadSpec& spec, const std::string& log_path,
                        int report_write) {
  std::vector<char*> argv, envp;
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : spec.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_adddup2(&actions, report_write, shim::kReportFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, shim::kReportFd + 1);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno(rc, "spawn " + args[0]);
  return pid;
}

}  // namespace

Result<ShimRun> ShimLauncher::Launch(const WorkloadSpec& spec, const std::string& state_dir, uint64_t run,
                                     const CgroupPaths& cgroups, const std::string& stdout_path,
                                     const std::string& stderr_path, const Spawned& on_spawned) const {
  ANNEX_RETURN_IF_ERROR(ValidateSpec(spec));
  std::vector<std::string> args = ShimArgv(shim_path_, spec, state_dir, run, cgroups, stdout_path, stderr_path);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  auto spawned = SpawnShim(args, spec, state_dir + "/" + shim::kShimLogFile, report[1]);
  ::close(report[1]);
  if (!spawned.ok()) {
    ::close(report[0]);
    return spawned.status();
  }
  pid_t shim_pid = *spawned;
  uint64_t shim_start_time = ProcessStartTime(shim_pid).value_or(0);  // our unreaped child: the PID is still it
  auto give_up = [shim_pid](Status s) {
    ::kill(shim_pid, SIGKILL);
    ::waitpid(shim_pid, nullptr, 0);
    return s;
  };
  if (on_spawned) {
    if (Status s = on_spawned(shim_pid, shim_start_time); !s.ok()) {
      ::close(report[0]);
      return give_up(s);
    }
  }
  Result<std::string> line = ReadReport(report[0]);
  ::close(report[0]);
  if (!line.ok()) return give_up(line.status());
  std::vector<std::string_view> words = Split(std::string_view(*line).substr(0, line->find('\n')), ' ');
  if (words.size() == 3 && words[0] == "fail") {
    ::waitpid(shim_pid, nullptr, 0);
    return StartError(words[1], static_cast<int>(ParseUint(words[2]).value_or(EIO)), spec.argv[0]);
  }
  if (words.size() != 3 || words[0] != "ok") {
    return give_up(Status::Internal("annex-shim failed to start (see " + state_dir + "/" + shim::kShimLogFile + ")"));
  }
  ShimRun r;
  r.shim_pid = shim_pid;
  r.pid = static_cast<pid_t>(ParseUint(words[1]).value_or(0));
  r.pid_start_time = ParseUint(words[2]).value_or(0);
  r.shim_start_time = shim_start_time;
  r.shim_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, shim_pid, 0));
  if (r.shim_pidfd < 0) return give_up(Status::FromErrno(errno, "pidfd_open"));
  return r;
}

Result<RunExit> ParseExitLine(std::string_view line) {
  RunExit e;
  int seen = 0;
  line = line.substr(0, line.find('\n'));
  for (std::string_view field : Split(line, ' ')) {
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = field.substr(0, eq);
    auto value = ParseUint(field.substr(eq + 1));
    if (!value) return Status::Corruption("bad exit file field '" + std::string(field) + "'");
    ++seen;
    if (key == "run") e.run = *value;
    else if (key == "exited") e.status.exited = *value != 0;
    else if (key == "code") e.status.code = static_cast<int>(*value);
    else if (key == "signal") e.status.signal = static_cast<int>(*value);
    else if (key == "oom") e.oom_killed = *value != 0;
    else if (key == "pid") e.pid = static_cast<pid_t>(*value);
    else --seen;
  }
  if (seen != 6) return Status::Corruption("incomplete exit file '" + std::string(line) + "'");
  return e;
}

Result<std::optional<RunExit>> ReadExitFile(const std::string& state_dir) {
  std::string path = state_dir + "/" + shim::kExitFile;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<RunExit>();
    return Status::FromErrno(errno, "open " + path);
  }
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n < 0) return Status::FromErrno(errno, "read " + path);
  ANNEX_ASSIGN_OR_RETURN(RunExit e, ParseExitLine(std::string_view(buf, static_cast<size_t>(n))));
  return std::optional<RunExit>(e);
}

std::string DefaultShimPath() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "annex-shim";
  std::string path(exe, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "annex-shim";
}

}  // namespace annex::supervisor
