// SendFileNoSignal against a socket whose peer has gone, in a process that
// keeps SIGPIPE's default action (death tests run it in a child).

#include "appliance/os/send_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace annex::os {
namespace {

// Sends a file to a socket pair whose other end is closed; exits with the
// errno seen (the process is killed if SIGPIPE is raised and not caught).
template <typename SendFn>
void SendToClosedPeer(SendFn send) {
  signal(SIGPIPE, SIG_DFL);
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::_Exit(100);
  ::close(fds[1]);
  int file = ::memfd_create("send_file_test", 0);
  if (file < 0 || ::ftruncate(file, 4096) != 0) std::_Exit(101);
  off_t offset = 0;
  ssize_t n = send(fds[0], file, &offset, 4096);
  std::_Exit(n < 0 ? errno : 102);
}

TEST(SendFileDeathTest, PlainSendfileToAClosedPeerRaisesSigpipe) {
  EXPECT_EXIT(SendToClosedPeer(::sendfile), ::testing::KilledBySignal(SIGPIPE), "");
}

TEST(SendFileDeathTest, SendFileNoSignalReportsEpipeInstead) {
  EXPECT_EXIT(SendToClosedPeer(SendFileNoSignal), ::testing::ExitedWithCode(EPIPE), "");
}

TEST(SendFile, LeavesTheSignalMaskAsItWas) {
  sigset_t before, after;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  int file = ::memfd_create("send_file_test", 0);
  ASSERT_EQ(::ftruncate(file, 100), 0);
  off_t offset = 0;
  EXPECT_EQ(SendFileNoSignal(fds[0], file, &offset, 100), 100);
  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  EXPECT_EQ(sigismember(&before, SIGPIPE), sigismember(&after, SIGPIPE));
  ::close(file);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace annex::os
