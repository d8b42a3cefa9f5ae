// annexd: the appliance daemon. See appliance/daemon/daemon.h.

#include <cstdio>

#include "appliance/core/log.h"
#include "appliance/core/log_file.h"
#include "appliance/daemon/config.h"
#include "appliance/daemon/daemon.h"
#include "appliance/os/server_process.h"

int main(int argc, char** argv) {
  annex::os::IgnoreSigpipe();
  annex::Result<uint64_t> fd_limit = annex::os::RaiseOpenFileLimit();
  auto config = annex::daemon::ParseConfig(argc, argv);
  if (!config.ok()) {
    if (config.status().code() == annex::StatusCode::kAborted) return 0;
    if (!config.status().message().empty()) std::fprintf(stderr, "annexd: %s\n", config.status().message().c_str());
    return 2;
  }
  annex::log::SetLevel(config->log_level);
  if (!config->log_file.empty()) {
    auto file = annex::log::RotatingLogFile::Open(
        {config->log_file, config->log_max_bytes, config->log_files, /*preallocate=*/true, /*capture_stderr=*/true});
    if (file.ok()) {
      // Never freed: any thread may log until the process exits.
      annex::log::LogToFile(file->release());
    } else {
      annex::log::Warn("logging to stderr instead", {{"error", file.status().ToString()}});
    }
  }
  if (!fd_limit.ok()) annex::log::Warn("could not raise the open-file limit", {{"error", fd_limit.status().ToString()}});
  annex::Status s = annex::daemon::RunDaemon(*config);
  if (!s.ok()) {
    annex::log::Error("annexd stopped", {{"error", s.ToString()}});
    return 1;
  }
  return 0;
}
