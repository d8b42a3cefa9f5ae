#pragma once
// Flashing a verified image onto a block device or into a file: refuse
// before touching the target (bad or unknown signature, tampered or
// truncated image, target too small or mounted), then stream, fsync, drop the
// target's cached pages and read everything back against the signed hash.

#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "provisioning/image/progress.h"

namespace annex::image {

struct FlashStats {
  uint64_t bytes = 0;
  double verify_seconds = 0, write_seconds = 0, readback_seconds = 0;
};

Status Flash(const std::string& image, const std::string& target, const std::vector<std::string>& trusted_keys,
             Progress& progress, FlashStats* stats = nullptr);

// Whether the block device (or one of its partitions) is mounted or used as
// swap; false for regular files.
Result<bool> DeviceInUse(const std::string& path);

}  // namespace annex::image
