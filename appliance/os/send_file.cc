#include "appliance/os/send_file.h"

#include <errno.h>
#include <signal.h>
#include <sys/sendfile.h>

#include <ctime>

namespace annex::os {
namespace {

sigset_t SigpipeSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

// Takes a pending SIGPIPE off the queue, if there is one, so it is not
// delivered once the mask is restored.
void ConsumePendingSigpipe(const sigset_t& set) {
  timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) < 0 && errno == EINTR) {
  }
}

}  // namespace

ssize_t SendFileNoSignal(int socket_fd, int file_fd, off_t* offset, size_t count) {
  static const sigset_t kSigpipe = SigpipeSet();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &kSigpipe, &old);
  ssize_t n = ::sendfile(socket_fd, file_fd, offset, count);
  int saved = errno;
  // The peer may vanish part way: sendfile then returns the bytes it sent
  // and still raises SIGPIPE, so check whatever the result. With SIGPIPE
  // blocked before the call, a pending one may be someone else's: leave it.
  if (!sigismember(&old, SIGPIPE)) ConsumePendingSigpipe(kSigpipe);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

}  // namespace annex::os
