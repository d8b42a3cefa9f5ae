#pragma once
// RotatingLogFile: a size-capped log sink. Lines are appended to PATH; when
// the next line would take PATH past max_bytes, PATH.<files-1> moves to
// PATH.<files> (dropping the oldest), …, PATH to PATH.1, and a new PATH is
// started. The logs therefore never hold more than (files + 1) × max_bytes,
// so they cannot fill the disk they share with customer data.
//
// With `preallocate`, each new file reserves its max_bytes up front
// (fallocate without changing its size): the logs keep their room when the
// disk fills up, and the disk space they take stays constant.
//
// With `capture_stderr`, the process's stderr (fd 2) is pointed at the
// current file too, so what bypasses annex::log (a crash message, a
// sanitizer report) lands in the same rotated files.
//
// Thread-safe: Write may be called from any thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::log {

struct LogFileOptions {
  std::string path;                  // the current file; rotated ones are PATH.1 … PATH.<files>
  uint64_t max_bytes = 8ull << 20;   // per file, ≥ 4096
  unsigned files = 4;                // rotated files kept, ≥ 1
  bool preallocate = true;
  bool capture_stderr = false;
};

class RotatingLogFile {
 public:
  // Opens (appending to) or creates options.path and its directory.
  // InvalidArgument for limits out of range, or the error opening the file.
  static Result<std::unique_ptr<RotatingLogFile>> Open(LogFileOptions options);
  ~RotatingLogFile();
  RotatingLogFile(const RotatingLogFile&) = delete;
  RotatingLogFile& operator=(const RotatingLogFile&) = delete;

  // Appends `line` (one or more whole lines), rotating first if it would not
  // fit. A line longer than max_bytes is cut to fit. Logging must not fail
  // the caller: a line that cannot be written (disk error) is dropped and
  // counted, and the next Write tries again.
  void Write(std::string_view line);

  // Lines dropped because they could not be written.
  uint64_t dropped() const;

 private:
  explicit RotatingLogFile(LogFileOptions options) : options_(std::move(options)) {}
  // REQUIRES: mu_ held. Opens options_.path for appending; fd_ -1 on failure.
  void OpenCurrent();
  // REQUIRES: mu_ held.
  void Rotate();
  // REQUIRES: mu_ held. Bytes in the current file (including what others wrote to a captured stderr).
  uint64_t CurrentSize() const;

  const LogFileOptions options_;
  mutable std::mutex mu_;
  int fd_ = -1;        // GUARDED_BY(mu_)
  uint64_t size_ = 0;  // GUARDED_BY(mu_); bytes in the current file as far as this writer knows
  uint64_t dropped_ = 0;
};

// Sends annex::log's lines to `file` (not owned; it must outlive all logging)
// instead of stderr; nullptr sends them back to stderr.
void LogToFile(RotatingLogFile* file);

}  // namespace annex::log
