// Child processes as the supervisor starts them: exit codes and signals,
// output to files, their own session, nothing of the parent's inherited,
// graceful stop with a SIGKILL fallback, and exec failures reported.

#include "appliance/supervisor/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <sstream>

#include "tests/unit/testing/temp_dir.h"

namespace annex::supervisor {
namespace {

using namespace std::chrono_literals;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ChildProcessTest : public ::testing::Test {
 protected:
  ChildSpec Shell(std::string script) {
    ChildSpec spec;
    spec.argv = {"/bin/sh", "-c", std::move(script)};
    spec.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
    spec.working_dir = dir_.path();
    spec.stdout_path = dir_.path() + "/out.log";
    spec.stderr_path = dir_.path() + "/err.log";
    return spec;
  }
  annex::testing::TempDir dir_;
};

TEST_F(ChildProcessTest, ReportsItsExitCodeAndWritesOutputToFiles) {
  auto child = ChildProcess::Spawn(Shell("echo $GREETING from $(pwd); echo oops >&2; exit 3"));
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  auto ended = (*child)->Wait(10s);
  ASSERT_TRUE(ended.ok() && ended->has_value());
  EXPECT_TRUE((*ended)->exited);
  EXPECT_EQ((*ended)->code, 3);
  EXPECT_EQ((*ended)->Describe(), "exit code 3");
  EXPECT_EQ(Read(dir_.path() + "/out.log"), "hello from " + dir_.path() + "\n");
  EXPECT_EQ(Read(dir_.path() + "/err.log"), "oops\n");
}

TEST_F(ChildProcessTest, RunsInItsOwnSessionWithNothingOfTheParents) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);  // no close-on-exec, as a careless library would leave it
  ASSERT_GE(listener, 0);
  auto child = ChildProcess::Spawn(Shell("cut -d' ' -f6 /proc/$$/stat; ls /proc/self/fd | tr '\\n' ' '"));
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE((*child)->Wait(10s)->has_value());
  ::close(listener);
  std::istringstream out(Read(dir_.path() + "/out.log"));
  pid_t sid = 0;
  std::string fds;
  out >> sid;
  std::getline(out >> std::ws, fds);
  EXPECT_EQ(sid, (*child)->pid()) << "a session leader of its own";
  // 0-2, and the descriptor ls itself opens to list /proc/self/fd.
  EXPECT_EQ(fds, "0 1 2 3 ");
}

TEST_F(ChildProcessTest, StopSendsTermThenKillAfterTheGrace) {
  auto polite = ChildProcess::Spawn(Shell("exec sleep 30"));
  ASSERT_TRUE(polite.ok());
  EXPECT_FALSE((*polite)->Wait(0ms)->has_value()) << "still running";
  auto ended = (*polite)->Stop(5s);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->signal, SIGTERM);

  auto stubborn = ChildProcess::Spawn(Shell("trap '' TERM; echo ready; while :; do sleep 0.05; done"));
  ASSERT_TRUE(stubborn.ok());
  for (int i = 0; i < 200 && Read(dir_.path() + "/out.log").find("ready") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ended = (*stubborn)->Stop(200ms);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->signal, SIGKILL);
  EXPECT_EQ(ended->Describe(), "killed by signal 9 (SIGKILL)");
}

TEST_F(ChildProcessTest, ExecFailuresAreReportedNotLeftRunning) {
  ChildSpec missing = Shell("");
  missing.argv = {"/no/such/program"};
  EXPECT_TRUE(ChildProcess::Spawn(missing).status().IsNotFound());
  ChildSpec relative = Shell("");
  relative.argv = {"sh"};
  EXPECT_EQ(ChildProcess::Spawn(relative).status().code(), StatusCode::kInvalidArgument);
  ChildSpec bad_dir = Shell("true");
  bad_dir.working_dir = "/no/such/dir";
  EXPECT_FALSE(ChildProcess::Spawn(bad_dir).ok());
}

}  // namespace
}  // namespace annex::supervisor
