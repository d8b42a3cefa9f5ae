#pragma once
// HostCommandRunner: the CommandRunner that acts on the real host. It runs
// programs directly (posix_spawn, no shell; "ip" and "nft" resolve to
// /usr/sbin), captures stdout and stderr, and kills a command that outlives
// the timeout so a wedged tool cannot hang annexd.
//
// Thread-safe: each Run() is independent.

#include <chrono>
#include <map>
#include <string>

#include "appliance/os/command_runner.h"

namespace annex::os {

class HostCommandRunner : public CommandRunner {
 public:
  struct Options {
    // Tool names and the binaries they resolve to; other argv[0]s run as given.
    std::map<std::string, std::string> programs = {{"ip", "/usr/sbin/ip"}, {"nft", "/usr/sbin/nft"}};
    std::string sysctl_root = "/proc/sys";
    // Where commands start: "/", so a tool run as another user (setpriv)
    // never starts in a directory it may not enter.
    std::string working_dir = "/";
    std::chrono::milliseconds timeout{30'000};
  };
  HostCommandRunner() : HostCommandRunner(Options()) {}
  explicit HostCommandRunner(Options options) : options_(std::move(options)) {}

  // CommandRunner
  Result<CommandOutput> Run(const std::vector<std::string>& argv, std::string_view input) override;
  Status WriteSysctl(std::string_view key, std::string_view value) override;
  using CommandRunner::Run;

 private:
  std::string Resolve(const std::string& program) const;
  Options options_;
};

}  // namespace annex::os
