#include "appliance/os/command_runner.h"

#include "appliance/core/strings.h"

namespace annex::os {

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    line += a;
  }
  return line;
}

Status RunChecked(CommandRunner& runner, const std::vector<std::string>& argv, std::string_view input) {
  ANNEX_ASSIGN_OR_RETURN(CommandOutput out, runner.Run(argv, input));
  if (out.ok()) return Status::OK();
  std::string message = CommandLine(argv) + ": exit " + std::to_string(out.exit_code);
  std::string_view err = TrimWhitespace(out.err);
  if (!err.empty()) message += ": " + std::string(err.substr(0, 1000));
  return Status::Internal(std::move(message));
}

}  // namespace annex::os
