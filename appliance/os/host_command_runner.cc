#include "appliance/os/host_command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace annex::os {
namespace {

// The child sees a fixed environment: messages in one language for errors we
// pass on, and a PATH for tools ip(8) itself runs (ip netns exec).
constexpr const char* kEnv[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};
// stdin is written whole into the pipe before the child starts, so the child
// can never leave us blocked (or killed by SIGPIPE) mid-write.
constexpr size_t kMaxInput = 1 << 20;

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

Status MakePipe(Fd& read_end, Fd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  read_end.fd = p[0];
  write_end.fd = p[1];
  return Status::OK();
}

Status FillStdin(std::string_view input, Fd& read_end) {
  Fd write_end;
  ANNEX_RETURN_IF_ERROR(MakePipe(read_end, write_end));
  if (input.empty()) return Status::OK();
  if (input.size() > kMaxInput) return Status::InvalidArgument("command input larger than 1 MiB");
  if (input.size() > 65536 && ::fcntl(write_end.fd, F_SETPIPE_SZ, static_cast<int>(input.size())) < 0) {
    return Status::FromErrno(errno, "pipe size");
  }
  while (!input.empty()) {
    ssize_t n = ::write(write_end.fd, input.data(), input.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write command input");
    input.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

// Reads stdout and stderr to EOF; false if the deadline passed first.
bool Drain(Fd& out, Fd& err, CommandOutput& result, std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  while (out.fd >= 0 || err.fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{out.fd, POLLIN, 0}, {err.fd, POLLIN, 0}};
    int rc = ::poll(fds, 2, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      Fd& fd = i == 0 ? out : err;
      ssize_t n = ::read(fd.fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fd.Close();
        continue;
      }
      (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
    }
  }
  return true;
}

Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& working_dir, int in, int out, int err) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), const_cast<char* const*>(kEnv));
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno(rc, "spawn " + argv[0]);
  return pid;
}

}  // namespace

std::string HostCommandRunner::Resolve(const std::string& program) const {
  auto it = options_.programs.find(program);
  return it == options_.programs.end() ? program : it->second;
}

Result<CommandOutput> HostCommandRunner::Run(const std::vector<std::string>& argv, std::string_view input) {
  if (argv.empty()) return Status::InvalidArgument("empty command");
  std::vector<std::string> resolved = argv;
  resolved[0] = Resolve(argv[0]);
  Fd in, out_r, out_w, err_r, err_w;
  ANNEX_RETURN_IF_ERROR(FillStdin(input, in));
  ANNEX_RETURN_IF_ERROR(MakePipe(out_r, out_w));
  ANNEX_RETURN_IF_ERROR(MakePipe(err_r, err_w));
  ANNEX_ASSIGN_OR_RETURN(pid_t pid, Spawn(resolved, options_.working_dir, in.fd, out_w.fd, err_w.fd));
  in.Close();
  out_w.Close();
  err_w.Close();
  CommandOutput result;
  bool finished = Drain(out_r, err_r, result, std::chrono::steady_clock::now() + options_.timeout);
  if (!finished) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    return Status::Unavailable(CommandLine(argv) + ": no answer within " +
                               std::to_string(options_.timeout.count()) + " ms");
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

Status HostCommandRunner::WriteSysctl(std::string_view key, std::string_view value) {
  if (key.empty() || key.find("..") != std::string_view::npos || key.front() == '/') {
    return Status::InvalidArgument("bad sysctl key: " + std::string(key));
  }
  std::string path = options_.sysctl_root + "/" + std::string(key);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.fd < 0) return Status::FromErrno(errno, "open " + path);
  std::string text = std::string(value) + "\n";
  if (::write(fd.fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Status::FromErrno(errno, "write " + path);
  }
  return Status::OK();
}

}  // namespace annex::os
