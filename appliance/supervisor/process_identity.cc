#include "appliance/supervisor/process_identity.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "appliance/core/strings.h"

namespace annex::supervisor {

std::optional<uint64_t> ParseStartTime(std::string_view stat_line) {
  size_t close = stat_line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // Fields after the command: 3 (state) … 22 (starttime).
  std::vector<std::string_view> fields = Split(stat_line.substr(close + 1), ' ');
  size_t index = 0;
  for (std::string_view f : fields) {
    if (f.empty()) continue;
    if (++index == 20) return ParseUint(Trim(f));
  }
  return std::nullopt;
}

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  return ParseStartTime(std::string_view(buf, static_cast<size_t>(n)));
}

Result<int> OpenVerifiedPidfd(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return Status::NotFound("no process recorded");
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ESRCH) return Status::NotFound("process " + std::to_string(pid) + " is gone");
    return Status::FromErrno(errno, "pidfd_open");
  }
  // Checked after the pidfd is open: if the start time still matches now,
  // the pidfd holds that very process, whatever happens to the PID later.
  if (ProcessStartTime(pid) != start_time) {
    ::close(fd);
    return Status::NotFound("process " + std::to_string(pid) + " is gone (the PID was reused)");
  }
  return fd;
}

Status SignalPidfd(int pidfd, int signal) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0 && errno != ESRCH) {
    return Status::FromErrno(errno, "pidfd_send_signal");
  }
  return Status::OK();
}

}  // namespace annex::supervisor
