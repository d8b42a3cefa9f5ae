// Naming a process for good (PID + start time) and reading the shim's exit
// file: what re-adoption after an annexd restart relies on.

#include "appliance/supervisor/process_identity.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "appliance/supervisor/shim_launcher.h"

namespace annex::supervisor {
namespace {

TEST(ProcessIdentity, ParsesTheStartTimeEvenFromAnOddCommandName) {
  std::string stat = "4242 (my) prog (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 "
                     "12345678 300 18446744073709551615";
  EXPECT_EQ(ParseStartTime(stat), 987654u);
  EXPECT_EQ(ParseStartTime("4242 (short) S 1"), std::nullopt);
  EXPECT_EQ(ParseStartTime("garbage"), std::nullopt);
}

TEST(ProcessIdentity, APidfdOnlyForTheSameProcess) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto start = ProcessStartTime(child);
  ASSERT_TRUE(start.has_value());
  auto fd = OpenVerifiedPidfd(child, *start);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_TRUE(OpenVerifiedPidfd(child, *start + 1).status().IsNotFound()) << "another start time: a reused PID";
  EXPECT_TRUE(SignalPidfd(*fd, SIGKILL).ok());
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(SignalPidfd(*fd, SIGKILL).ok()) << "signalling a process that is gone is not an error";
  ::close(*fd);
  EXPECT_TRUE(OpenVerifiedPidfd(child, *start).status().IsNotFound());
  EXPECT_FALSE(ProcessStartTime(child).has_value());
}

TEST(ExitFile, ParsesWhatTheShimWrites) {
  auto e = ParseExitLine("run=3 exited=0 code=0 signal=9 oom=1 pid=42\n");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->run, 3u);
  EXPECT_FALSE(e->status.exited);
  EXPECT_EQ(e->status.signal, 9);
  EXPECT_TRUE(e->oom_killed);
  EXPECT_EQ(e->pid, 42);
  EXPECT_EQ(ParseExitLine("run=3 exited=1 code=2").status().code(), StatusCode::kCorruption) << "cut short";
  EXPECT_EQ(ParseExitLine("run=x exited=1 code=2 signal=0 oom=0 pid=1").status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace annex::supervisor
