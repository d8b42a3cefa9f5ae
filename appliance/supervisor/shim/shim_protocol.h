#pragma once
// What annexd and annex-shim agree on. Shared by both; no dependencies, so
// the shim stays a small program with nothing but libc.
//
// annexd starts the shim as
//   annex-shim --state DIR --run N [--cgroup DIR]... [--oom-file PATH]
//              [--stdout PATH] [--stderr PATH] [--cwd DIR] [--uid N] [--gid N]
//              [--groups G,G,...] [--ns pid,mount,net,uts,ipc] [--hostname NAME]
//              [--rlimit RES:SOFT:HARD]... -- ARGV...
// with the workload's environment as its own, descriptor kReportFd open for
// writing, and everything else closed. The shim joins the cgroups, forks
// the workload, and writes one line to kReportFd:
//   "ok PID STARTTIME\n"      the workload exec'd (STARTTIME: /proc/PID/stat field 22)
//   "fail STAGE ERRNO\n"      it could not be started; nothing is left running
// then closes it. When the workload ends, the shim kills whatever else is
// left in its cgroup, writes the exit file (kExitFile, atomically) and exits.
//
// Exit file, one line: "run=N exited=0|1 code=C signal=S oom=0|1 pid=P\n".

namespace annex::supervisor::shim {

inline constexpr int kReportFd = 3;
inline constexpr const char* kExitFile = "exit";
inline constexpr const char* kExitTempFile = "exit.tmp";
inline constexpr const char* kStdoutFile = "stdout.log";
inline constexpr const char* kStderrFile = "stderr.log";
inline constexpr const char* kShimLogFile = "shim.log";

// The line in memory.events (v2) and memory.oom_control (v1) counting OOM kills.
inline constexpr const char* kOomKillKey = "oom_kill";

}  // namespace annex::supervisor::shim
