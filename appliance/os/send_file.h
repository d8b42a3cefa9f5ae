#pragma once
// SendFileNoSignal: sendfile(2) to a socket without SIGPIPE.
//
// send(2) takes MSG_NOSIGNAL, but sendfile(2) has no flags: writing to a
// socket whose peer has gone raises SIGPIPE, and SIGPIPE's default action
// ends the process (a client that stops reading a download would kill the
// server). The call runs with SIGPIPE blocked on the calling thread and a
// SIGPIPE it raised is consumed, so it reports EPIPE like send() does even
// in a process that did not ignore SIGPIPE.
//
// Thread safety: touches only the calling thread's signal mask.

#include <sys/types.h>

#include <cstddef>

namespace annex::os {

// sendfile(socket_fd, file_fd, offset, count): bytes sent, or -1 with errno set.
ssize_t SendFileNoSignal(int socket_fd, int file_fd, off_t* offset, size_t count);

}  // namespace annex::os
