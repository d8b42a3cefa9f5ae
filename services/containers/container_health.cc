#include "services/containers/container_health.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace annex::containers {

const char* HealthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::kHealthy: return "HEALTHY";
    case HealthStatus::kUnhealthy: return "UNHEALTHY";
    default: return "UNKNOWN";
  }
}

int RunWithTimeout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) return -1;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The check's output is not kept (ECS keeps none either); nothing may reach annexd's own streams.
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // annexd's sockets are not close-on-exec (Asio opens them plainly): a
  // runtime holding one would keep a client's connection or the listening
  // port alive after annexd closes it or dies.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool timed_out = false;
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int n;
    do {
      n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (n < 0 && errno == EINTR);
    timed_out = n == 0;
    ::close(pidfd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

ContainerHealth::ContainerHealth(const OciRuntime& runtime) : runtime_(runtime) {
  thread_ = std::thread([this] { Loop(); });
}

ContainerHealth::~ContainerHealth() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return in_flight_ == 0; });
}

void ContainerHealth::Watch(const std::string& id, const HealthCheck& check) {
  std::lock_guard lock(mu_);
  if (checks_.count(id)) return;
  Check c;
  c.spec = check;
  c.started = std::chrono::steady_clock::now();
  // The first check one interval in, as Docker runs it: a check at once
  // would often find the container not yet up and count a failure.
  c.next = c.started + std::chrono::seconds(check.interval);
  checks_[id] = std::move(c);
  changed_.notify_all();
}

void ContainerHealth::Forget(const std::string& id) {
  std::lock_guard lock(mu_);
  checks_.erase(id);
}

HealthStatus ContainerHealth::Status(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = checks_.find(id);
  return it == checks_.end() ? HealthStatus::kUnknown : it->second.status;
}

void ContainerHealth::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    auto wake = now + std::chrono::seconds(1);
    for (auto& [id, c] : checks_) {
      if (c.running) continue;
      if (c.next > now) {
        wake = std::min(wake, c.next);
        continue;
      }
      c.running = true;
      ++in_flight_;
      std::thread([this, id = id, spec = c.spec] { RunOne(id, spec); }).detach();
    }
    changed_.wait_until(lock, wake);
  }
}

void ContainerHealth::RunOne(std::string id, HealthCheck spec) {
  std::vector<std::string> command;
  if (!spec.command.empty() && spec.command[0] == "CMD-SHELL") {
    std::string line;
    for (size_t i = 1; i < spec.command.size(); ++i) line += (i > 1 ? " " : "") + spec.command[i];
    command = {"/bin/sh", "-c", line};
  } else {
    command.assign(spec.command.begin() + (spec.command.empty() ? 0 : 1), spec.command.end());
  }
  int code = command.empty() ? -1 : RunWithTimeout(runtime_.ExecArgv(id, command), std::chrono::seconds(spec.timeout));
  std::lock_guard lock(mu_);
  --in_flight_;
  auto it = checks_.find(id);
  if (it != checks_.end()) {
    Check& c = it->second;
    c.running = false;
    auto now = std::chrono::steady_clock::now();
    c.next = now + std::chrono::seconds(spec.interval);
    bool starting = spec.startPeriod && now - c.started < std::chrono::seconds(*spec.startPeriod);
    if (code == 0) {
      c.failures = 0;
      c.status = HealthStatus::kHealthy;
    } else if (!starting && ++c.failures >= spec.retries) {
      c.status = HealthStatus::kUnhealthy;
    }
  }
  changed_.notify_all();
}

}  // namespace annex::containers
