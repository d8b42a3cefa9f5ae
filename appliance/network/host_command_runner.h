#pragma once
// HostCommandRunner: the CommandRunner that acts on the real host. It runs
// /usr/sbin/ip and /usr/sbin/nft directly (posix_spawn, no shell), captures
// stdout and stderr, and kills a command that outlives the timeout so a
// wedged tool cannot hang annexd's network calls.
//
// Thread-safe: each Run() is independent.

#include <chrono>
#include <string>

#include "appliance/network/command_runner.h"

namespace annex::network {

class HostCommandRunner : public CommandRunner {
 public:
  struct Options {
    std::string ip_path = "/usr/sbin/ip";
    std::string nft_path = "/usr/sbin/nft";
    std::string sysctl_root = "/proc/sys";
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

}  // namespace annex::network
