#include "appliance/supervisor/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cerrno>

namespace annex::supervisor {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Tells the parent why the child could not become the workload, and ends it.
[[noreturn]] void FailInChild(int report, int e) {
  ssize_t ignored = ::write(report, &e, sizeof e);
  (void)ignored;
  ::_exit(127);
}

// In the child, between fork and exec: only async-signal-safe calls. On
// failure it writes errno to `report` and exits; exec closes `report`.
[[noreturn]] void ExecChild(char* const* argv, char* const* envp, const char* dir, const char* out, const char* err,
                            int report) {
  auto fail = [report](int e) { FailInChild(report, e); };
  ::setsid();  // its own session: no signal meant for annexd's group reaches it
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);  // annexd ignores it; a workload gets the default
  int in = ::open("/dev/null", O_RDONLY);
  if (in < 0 || ::dup2(in, 0) < 0) fail(errno);
  const char* paths[2] = {out, err};
  for (int i = 0; i < 2; ++i) {
    int fd = ::open(paths[i], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 || ::dup2(fd, i + 1) < 0) fail(errno);  // the dup has no close-on-exec
  }
  // Nothing of annexd's — listening sockets, LMDB files — may live on in the
  // workload: a socket kept open would hold annexd's port after it exits.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (::chdir(dir) != 0) fail(errno);
  ::execve(argv[0], argv, envp);
  FailInChild(report, errno);
}

Status ExecError(int e, const std::string& program) {
  switch (e) {
    case ENOENT: return Status::NotFound("cannot run " + program + ": no such file");
    case EACCES:
    case EPERM: return Status::PermissionDenied("cannot run " + program + ": " + ::strerror(e));
    default: return Status::InvalidArgument("cannot run " + program + ": " + ::strerror(e));
  }
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (exited) return "exit code " + std::to_string(code);
  const char* name = ::sigabbrev_np(signal);
  return "killed by signal " + std::to_string(signal) + (name ? std::string(" (SIG") + name + ")" : "");
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const ChildSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return Status::InvalidArgument("a child's argv[0] must be an absolute path");
  }
  // Everything the child needs is built before fork: after it, no allocation.
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* out = spec.stdout_path.empty() ? "/dev/null" : spec.stdout_path.c_str();
  const char* err = spec.stderr_path.empty() ? "/dev/null" : spec.stderr_path.c_str();
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(report[0]);
    ::close(report[1]);
    return Status::FromErrno(e, "fork");
  }
  if (pid == 0) ExecChild(argv.data(), envp.data(), spec.working_dir.c_str(), out, err, report[1]);
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == sizeof child_errno) {  // exec failed: the child is gone, reap it
    ::waitpid(pid, nullptr, 0);
    return ExecError(child_errno, spec.argv[0]);
  }
  int pidfd = PidfdOpen(pid);  // ours and not reaped, so the PID is still this child
  if (pidfd < 0) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Status::FromErrno(e, "pidfd_open");
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, pidfd));
}

ChildProcess::~ChildProcess() { ::close(pidfd_); }

Result<std::optional<ExitStatus>> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (ended_) return ended_;
  struct pollfd p = {pidfd_, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return Status::FromErrno(errno, "poll pidfd");
  if (ready == 0) return std::optional<ExitStatus>();
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED) != 0) return Status::FromErrno(errno, "waitid");
  ExitStatus s;
  s.exited = info.si_code == CLD_EXITED;
  if (s.exited) s.code = info.si_status;
  else s.signal = info.si_status;
  ended_ = s;
  return ended_;
}

Result<ExitStatus> ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (ended_) return *ended_;
  if (::syscall(SYS_pidfd_send_signal, pidfd_, SIGTERM, nullptr, 0) != 0 && errno != ESRCH) {
    return Status::FromErrno(errno, "SIGTERM");
  }
  ANNEX_ASSIGN_OR_RETURN(std::optional<ExitStatus> s, Wait(grace));
  if (s) return *s;
  if (::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0) != 0 && errno != ESRCH) {
    return Status::FromErrno(errno, "SIGKILL");
  }
  ANNEX_ASSIGN_OR_RETURN(s, Wait(std::chrono::seconds(30)));
  if (!s) return Status::Internal("child " + std::to_string(pid_) + " survived SIGKILL");
  return *s;
}

}  // namespace annex::supervisor
