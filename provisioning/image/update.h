#pragma once
// A/B updates and boot assessment.
//
// update: the bundle (a signed image) is verified, every boot entry of the
// slot that is NOT running is removed, the bundle's root filesystem is
// written to that slot's partition while being hashed, its kernel and
// initramfs are copied to the ESP and checked, and only then is the new entry
// created — with a boot counter of 3 tries. A power cut at any point leaves
// the running slot's entry as the one systemd-boot picks.
//
// bless: run by the appliance once annexd is healthy; drops the counter of
// the booted entry so it stays the default.

#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "provisioning/image/progress.h"

namespace annex::image {

struct UpdateOptions {
  std::string bundle;                // signed image (a file or a block device)
  std::string manifest;              // default: <bundle>.manifest (signature: <manifest>.sig)
  std::string target;                // disk image, block device, or "running"
  std::vector<std::string> pubkeys;  // empty: the keys the target's running slot trusts
  int tries = 3;
};

struct UpdateResult {
  char slot = 'b';
  std::string entry;  // the boot entry created
  std::string version;
};

Result<UpdateResult> Update(const UpdateOptions& options, Progress& progress);

// Drops the boot counter of `slot`'s newest entry on the ESP at `esp_device`
// (a partition) and returns what it did, including a note when a newer
// update had failed and the system rolled back.
Result<std::string> Bless(const std::string& esp_device, char slot);

// Extends the GPT's last partition (annex-data) to the end of `disk` and tells
// the kernel. Returns "grown to N MiB" or "unchanged (N MiB)".
Result<std::string> GrowData(const std::string& disk);

// Boot entries and the slot systemd-boot will pick, for operators.
Result<std::string> DescribeSlots(const std::string& target);

}  // namespace annex::image
