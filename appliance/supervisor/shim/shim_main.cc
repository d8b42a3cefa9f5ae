// annex-shim: the parent of one workload run, so the run's exit status is
// known even when annexd was not there to see it (as conmon does for
// podman). The protocol is in shim_protocol.h.
//
// Deliberately small: libc only, linked statically, so starting it costs
// one cheap exec, and it holds a few hundred KiB while it waits.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "appliance/supervisor/shim/shim_protocol.h"

extern char** environ;

namespace {

using namespace annex::supervisor::shim;

constexpr int kMaxCgroups = 8;
constexpr int kMaxRlimits = 16;
constexpr int kMaxGroups = 64;

struct Options {
  const char* state = nullptr;
  long run = 0;
  const char* cgroups[kMaxCgroups] = {};
  int n_cgroups = 0;
  const char* oom_file = nullptr;
  const char* out = "/dev/null";
  const char* err = "/dev/null";
  const char* cwd = "/";
  long uid = -1, gid = -1;
  gid_t groups[kMaxGroups] = {};
  int n_groups = 0;
  bool ns_pid = false, ns_mount = false, ns_net = false, ns_uts = false, ns_ipc = false;
  const char* hostname = nullptr;
  struct { int resource; rlim_t soft, hard; } rlimits[kMaxRlimits] = {};
  int n_rlimits = 0;
  char** argv = nullptr;
};

volatile sig_atomic_t g_child = 0;  // the workload, once forked

// Signals for the workload arrive at the shim (annexd signals the shim, whose
// identity it can check) and are passed on.
void Forward(int sig) {
  if (g_child > 0) kill(g_child, sig);
}
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

[[noreturn]] void Usage(const char* why) {
  dprintf(2, "annex-shim: %s\n", why);
  _exit(2);
}

// "pid,mount,net" → flags.
void ParseNamespaces(char* list, Options& o) {
  for (char* name = strtok(list, ","); name; name = strtok(nullptr, ",")) {
    if (!strcmp(name, "pid")) o.ns_pid = true;
    else if (!strcmp(name, "mount")) o.ns_mount = true;
    else if (!strcmp(name, "net")) o.ns_net = true;
    else if (!strcmp(name, "uts")) o.ns_uts = true;
    else if (!strcmp(name, "ipc")) o.ns_ipc = true;
    else Usage("unknown namespace");
  }
}

void ParseGroups(char* list, Options& o) {
  for (char* g = strtok(list, ","); g; g = strtok(nullptr, ",")) {
    if (o.n_groups == kMaxGroups) Usage("too many groups");
    o.groups[o.n_groups++] = static_cast<gid_t>(strtoul(g, nullptr, 10));
  }
}

void ParseRlimit(const char* spec, Options& o) {
  if (o.n_rlimits == kMaxRlimits) Usage("too many rlimits");
  unsigned long long soft = 0, hard = 0;
  int resource = 0;
  if (sscanf(spec, "%d:%llu:%llu", &resource, &soft, &hard) != 3) Usage("bad --rlimit");
  o.rlimits[o.n_rlimits++] = {resource, static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
}

Options Parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (!strcmp(a, "--")) break;
    if (i + 1 >= argc) Usage("missing value");
    char* v = argv[++i];
    if (!strcmp(a, "--state")) o.state = v;
    else if (!strcmp(a, "--run")) o.run = strtol(v, nullptr, 10);
    else if (!strcmp(a, "--cgroup")) {
      if (o.n_cgroups == kMaxCgroups) Usage("too many cgroups");
      o.cgroups[o.n_cgroups++] = v;
    } else if (!strcmp(a, "--oom-file")) o.oom_file = v;
    else if (!strcmp(a, "--stdout")) o.out = v;
    else if (!strcmp(a, "--stderr")) o.err = v;
    else if (!strcmp(a, "--cwd")) o.cwd = v;
    else if (!strcmp(a, "--uid")) o.uid = strtol(v, nullptr, 10);
    else if (!strcmp(a, "--gid")) o.gid = strtol(v, nullptr, 10);
    else if (!strcmp(a, "--groups")) ParseGroups(v, o);
    else if (!strcmp(a, "--ns")) ParseNamespaces(v, o);
    else if (!strcmp(a, "--hostname")) o.hostname = v;
    else if (!strcmp(a, "--rlimit")) ParseRlimit(v, o);
    else Usage("unknown option");
  }
  if (!o.state || i + 1 >= argc) Usage("need --state and a command after --");
  o.argv = argv + i + 1;
  return o;
}

bool WriteString(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  close(fd);
  return ok;
}

// The count on the "oom_kill N" line of memory.events or memory.oom_control.
long long ReadOomKills(const char* path) {
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  size_t key_len = strlen(kOomKillKey);
  for (char* line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : nullptr) {
    if (!strncmp(line, kOomKillKey, key_len) && line[key_len] == ' ') return atoll(line + key_len + 1);
  }
  return 0;
}

// /proc/PID/stat field 22: when the process started, in clock ticks since
// boot. With the PID it names one process for good.
unsigned long long StartTime(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char* p = strrchr(buf, ')');  // the command name may hold spaces and parentheses
  if (!p) return 0;
  for (int field = 2; field < 22 && p; ++field) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, nullptr, 10) : 0;
}

[[noreturn]] void FailChild(int report, int stage) {
  int msg[2] = {stage, errno};
  ssize_t ignored = write(report, msg, sizeof msg);
  (void)ignored;
  _exit(127);
}

// Stages a start can fail at, reported to annexd by name.
enum Stage { kSession = 1, kNamespaces, kMounts, kHostname, kRlimits, kOutput, kUser, kCwd, kExec };
const char* StageName(int stage) {
  static const char* names[] = {"?", "session", "namespaces", "mounts", "hostname", "rlimits",
                                "output", "user", "cwd", "exec"};
  return stage > 0 && stage <= kExec ? names[stage] : "?";
}

// The workload's side of the vfork: session, namespaces, limits, output,
// user, directory, then exec. Any failure is reported and ends it. Runs on
// the shim's memory: system calls only, no allocation, never returns.
[[noreturn]] void RunWorkload(const Options& o, int report) {
  for (int sig : kForwarded) signal(sig, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  if (setsid() < 0) FailChild(report, kSession);
  int flags = (o.ns_mount ? CLONE_NEWNS : 0) | (o.ns_net ? CLONE_NEWNET : 0) | (o.ns_uts ? CLONE_NEWUTS : 0) |
              (o.ns_ipc ? CLONE_NEWIPC : 0);
  if (flags && unshare(flags) != 0) FailChild(report, kNamespaces);
  if (o.ns_mount) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) FailChild(report, kMounts);
    // Its own /proc, so ps and /proc/self agree with its pid namespace.
    if (o.ns_pid && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      FailChild(report, kMounts);
    }
  }
  if (o.hostname && sethostname(o.hostname, strlen(o.hostname)) != 0) FailChild(report, kHostname);
  for (int i = 0; i < o.n_rlimits; ++i) {
    struct rlimit rl = {o.rlimits[i].soft, o.rlimits[i].hard};
    if (setrlimit(o.rlimits[i].resource, &rl) != 0) FailChild(report, kRlimits);
  }
  WriteString("/proc/self/oom_score_adj", "0");  // the shim's protection is not the workload's
  int in = open("/dev/null", O_RDONLY);
  int out = open(o.out, O_WRONLY | O_CREAT | O_APPEND, 0640);
  int err = strcmp(o.err, o.out) == 0 ? dup(out) : open(o.err, O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
    FailChild(report, kOutput);
  }
  if (o.gid >= 0 || o.uid >= 0) {
    if (setgroups(static_cast<size_t>(o.n_groups), o.groups) != 0) FailChild(report, kUser);
    if (o.gid >= 0 && setgid(static_cast<gid_t>(o.gid)) != 0) FailChild(report, kUser);
    if (o.uid >= 0 && setuid(static_cast<uid_t>(o.uid)) != 0) FailChild(report, kUser);
  }
  if (chdir(o.cwd) != 0) FailChild(report, kCwd);
  // Nothing of the shim's (its report descriptor) lives on in the workload;
  // close-on-exec rather than closed, so a failed exec can still report.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(o.argv[0], o.argv, environ);
  FailChild(report, kExec);
}

// Reads the child's report: 0 once exec has closed the pipe, else errno
// with the stage stored in `stage`.
int AwaitExec(int pipe_read, int* stage) {
  int msg[2];
  ssize_t n;
  do {
    n = read(pipe_read, msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  close(pipe_read);
  if (n != sizeof msg) return 0;
  *stage = msg[0];
  return msg[1] ? msg[1] : EIO;
}

// After the workload's main process ended: nothing else of it may linger in
// its cgroup (a daemonized grandchild would hold the next run's limits).
void KillLeftovers(const Options& o) {
  if (o.n_cgroups == 0) return;
  char procs[4096];
  snprintf(procs, sizeof procs, "%s/cgroup.procs", o.cgroups[0]);
  for (int round = 0; round < 500; ++round) {
    int fd = open(procs, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) return;
    buf[n] = 0;
    bool others = false;
    for (char* p = buf; *p;) {
      pid_t pid = static_cast<pid_t>(strtol(p, &p, 10));
      while (*p == '\n') ++p;
      if (pid > 0 && pid != getpid()) {
        others = true;
        kill(pid, SIGKILL);
      }
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (!others) return;
    usleep(2000);
  }
}

void WriteExitFile(const Options& o, int status, bool oom, pid_t pid) {
  char tmp[4096], final_path[4096], line[256];
  snprintf(tmp, sizeof tmp, "%s/%s", o.state, kExitTempFile);
  snprintf(final_path, sizeof final_path, "%s/%s", o.state, kExitFile);
  int len = snprintf(line, sizeof line, "run=%ld exited=%d code=%d signal=%d oom=%d pid=%d\n", o.run,
                     WIFEXITED(status) ? 1 : 0, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0, oom ? 1 : 0, pid);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return;
  bool ok = write(fd, line, static_cast<size_t>(len)) == len && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, final_path) != 0) return;
  int dir = open(o.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
}

void Report(const char* line) {
  ssize_t ignored = write(kReportFd, line, strlen(line));
  (void)ignored;
  close(kReportFd);
}

[[noreturn]] void Fail(const char* stage, int e) {
  char line[128];
  snprintf(line, sizeof line, "fail %s %d\n", stage, e);
  Report(line);
  _exit(1);
}

// Signals meant for the workload are held until its PID is known.
void InstallForwarding(sigset_t* old) {
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : kForwarded) sigaddset(&forwarded, sig);
  sigprocmask(SIG_BLOCK, &forwarded, old);
  struct sigaction sa = {};
  sa.sa_handler = Forward;
  sa.sa_flags = SA_RESTART;
  for (int sig : kForwarded) sigaction(sig, &sa, nullptr);
}

void JoinCgroups(const Options& o) {
  for (int i = 0; i < o.n_cgroups; ++i) {
    char procs[4096];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", o.cgroups[i]);
    if (!WriteString(procs, "0")) Fail("cgroup", errno);
  }
}

// Starts the workload and reports it; returns its PID once it has exec'd.
pid_t StartWorkload(const Options& o, const sigset_t& old_mask) {
  if (o.ns_pid && unshare(CLONE_NEWPID) != 0) Fail("namespaces", errno);
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) Fail("pipe", errno);
  // vfork: the workload's side runs on our memory until it execs (only
  // system calls, and it never returns), so no page tables are copied — a
  // plain fork made a start four times slower on the appliance's VMs.
  pid_t child = vfork();
  if (child < 0) Fail("fork", errno);
  if (child == 0) {
    close(exec_pipe[0]);
    RunWorkload(o, exec_pipe[1]);
  }
  close(exec_pipe[1]);
  g_child = child;
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  int stage = 0;
  if (int e = AwaitExec(exec_pipe[0], &stage)) {
    waitpid(child, nullptr, 0);
    Fail(StageName(stage), e);
  }
  char line[128];
  snprintf(line, sizeof line, "ok %d %llu\n", child, StartTime(child));
  Report(line);
  return child;
}

// Reaps every orphan handed to us until the workload itself ends.
int AwaitWorkload(pid_t child) {
  for (;;) {
    int status;
    pid_t reaped = waitpid(-1, &status, 0);
    if (reaped == child) return status;
    if (reaped < 0 && errno != EINTR) return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);  // annexd may be gone by the time we report
  sigset_t old_mask;
  InstallForwarding(&old_mask);
  WriteString("/proc/self/oom_score_adj", "-1000");  // the OOM killer takes the workload, never its witness
  JoinCgroups(o);
  prctl(PR_SET_CHILD_SUBREAPER, 1);  // orphaned descendants come to us, not to init
  long long oom_before = ReadOomKills(o.oom_file);
  pid_t child = StartWorkload(o, old_mask);
  int status = AwaitWorkload(child);
  g_child = 0;
  KillLeftovers(o);
  bool oom = ReadOomKills(o.oom_file) > oom_before;
  WriteExitFile(o, status, oom, child);
  // Straight out: no exit handlers (a sanitizer's leak check at exit hangs
  // in a child subreaper, and there is nothing to flush).
  _exit(0);
}
