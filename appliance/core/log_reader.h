#pragma once
// Reading what RotatingLogFile (log_file.h) wrote: the last lines across
// PATH and its rotated files, and following PATH as it grows and rotates.
// `annexctl logs` is the client.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::log {

// The last `n` lines of the log at `path`, oldest first, taken from PATH and
// as many of PATH.1, PATH.2, … as needed. Each line keeps its '\n' (the last
// one may lack it if its writer was cut off). NotFound when PATH and PATH.1
// are both missing.
Result<std::vector<std::string>> LastLogLines(const std::string& path, size_t n);

// A cursor at the end of the log at `path`: Poll() hands what was appended
// since to `out`, and follows a rotation (the rest of the old file first,
// then the new PATH from its start). Not thread-safe.
class LogFollower {
 public:
  explicit LogFollower(std::string path);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  // Calls `out` with each chunk of new bytes; a missing PATH is not an error
  // (it is waited for).
  void Poll(const std::function<void(std::string_view)>& out);

 private:
  void Drain(const std::function<void(std::string_view)>& out);

  std::string path_;
  int fd_ = -1;
  unsigned long long inode_ = 0;
};

}  // namespace annex::log
