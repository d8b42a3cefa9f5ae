#pragma once
// CommandRunner: how annexd runs the host's tools — the workload network's
// ip(8) and nft(8) and sysctl writes, the database service's initdb and
// pgBackRest — so tests can replace the host with a fake that records
// commands and fails on cue.
//
// Implementations are thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::os {

// What a finished command left behind.
struct CommandOutput {
  int exit_code = 0;  // 128 + signal when it was killed
  std::string out;    // stdout
  std::string err;    // stderr, for error messages
  bool ok() const { return exit_code == 0; }
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (an absolute path, or a tool name the runner resolves:
  // "ip", "nft") with argv, no shell, `input` on stdin. A command that ran
  // and failed is an OK Result with a non-zero exit_code; an error Status
  // means it could not be run at all.
  virtual Result<CommandOutput> Run(const std::vector<std::string>& argv, std::string_view input) = 0;
  Result<CommandOutput> Run(const std::vector<std::string>& argv) { return Run(argv, {}); }

  // Writes `value` to /proc/sys/<key>, `key` in path form
  // ("net/ipv4/ip_forward") so interface names with dots stay unambiguous.
  virtual Status WriteSysctl(std::string_view key, std::string_view value) = 0;
};

// Runs the command and turns a non-zero exit into an error Status carrying
// the command line and its stderr.
Status RunChecked(CommandRunner& runner, const std::vector<std::string>& argv, std::string_view input = {});
// "ip link del dev x" — argv joined by spaces, for messages.
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace annex::os
