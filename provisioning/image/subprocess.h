#pragma once
// Runs the external tools an image is assembled with (mke2fs, mkfs.vfat,
// mtools, apt-get, ...): no shell, arguments passed as they are, and a failing
// tool becomes a Status carrying the end of its stderr.

#include <string>
#include <utility>
#include <vector>

#include "appliance/core/result.h"

namespace annex::image {

struct Command {
  std::vector<std::string> argv;
  // Added to (or replacing in) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Written to the tool's stdin (empty: /dev/null).
  std::string stdin_data;
  // Working directory ("" = ours).
  std::string cwd;
};

// Runs to completion; returns stdout. Non-zero exit → Internal/NotFound error.
Result<std::string> Run(const Command& cmd);
Result<std::string> Run(std::vector<std::string> argv);

// The first executable named `name` on PATH plus /sbin and /usr/sbin, or "".
std::string FindTool(const std::string& name);

}  // namespace annex::image
