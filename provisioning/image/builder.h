#pragma once
// Builds a bootable, signed appliance disk image:
//
//   GPT: 1 annex-esp (FAT32: systemd-boot, per-slot kernel + initramfs, boot
//        entries with boot counting, the first-boot config)
//        2 annex-root-a, 3 annex-root-b (read-only ext4; B empty until the
//        first update)  4 annex-data (created to fill the disk on first boot)
//
// plus `<out>.manifest` and its detached Ed25519 signature `<out>.manifest.sig`.
// Nothing is mounted: filesystems are made with mke2fs -d and mtools into
// files, and the partition table is written by our own GPT code. The same
// inputs give a byte-identical image.

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "provisioning/image/manifest.h"
#include "provisioning/image/progress.h"

namespace annex::image {

inline constexpr uint64_t kMiB = 1 << 20;
inline constexpr uint64_t kEspSize = 64 * kMiB;
inline constexpr uint64_t kRootSize = 192 * kMiB;
inline constexpr uint64_t kMinDataSize = 64 * kMiB;

struct BuildOptions {
  std::string out;       // the disk image to write
  std::string key_path;  // Ed25519 private key (PEM)
  std::string version = "0.1.0";
  std::string min_installed_version = "0.0.0";
  uint64_t size = 1024 * kMiB;
  std::string bin_dir;                          // annexd, annex-shim, annexctl, annex-image
  std::string annexd;                           // overrides bin_dir/annexd when set
  std::string share_dir;                        // init scripts (provisioning/rootfs, provisioning/initrd)
  std::string cache_dir;                        // Debian packages
  std::string firstboot_config;                 // optional: installed as annex/firstboot.conf on the ESP
  std::vector<std::string> extra_trusted_keys;  // public keys trusted for updates besides the signing key
  int64_t epoch = 1767225600;                   // file times (SOURCE_DATE_EPOCH); 2026-01-01
};

struct BuildResult {
  Manifest manifest;
  std::string manifest_path;
  std::string signature_path;
  int packages_downloaded = 0;
};

Result<BuildResult> BuildImage(const BuildOptions& options, Progress& progress);

// The systemd-boot entry for `slot` of an image of `version`.
std::string EntryText(const std::string& version, char slot);

}  // namespace annex::image
