#pragma once
// Offline image export: one image of the registry as a docker-archive tar
// (manifest.json with Config, RepoTags and Layers; the config as
// <hex>.json; each layer as <hex>.tar), which `podman load`, `docker load`
// and `skopeo copy docker-archive:…` accept. Layers go out as stored —
// gzip'd ones stay gzip'd, which all three read — so the archive's size is
// known before its first byte and nothing is staged on disk: the layers are
// sent straight from the blob store's files.
//
// The tar is framed here rather than with libarchive's writer because the
// layer bytes must bypass any writer (sendfile from the blob file) while
// the framing around them stays exact: ustar headers with base-256 sizes
// for entries past 8 GiB, as GNU tar and Go's archive/tar read them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"
#include "services/registry/registry.h"

namespace annex::registry {

// One file of the archive: small ones carry their content, layers their
// open blob file (held open, so a garbage collection mid-export cannot
// take the bytes away).
struct ExportEntry {
  std::string name;
  std::string content;
  os::RandomAccessFilePtr file;
  uint64_t size = 0;
};

struct ImageExport {
  std::string repository;
  std::string tag;
  std::string digest;  // the exported image manifest's
  std::vector<ExportEntry> entries;
  uint64_t archive_bytes = 0;  // the tar's exact size
};

// The archive of `repository:reference` (a tag or a digest) in `account`.
// An index is exported as its manifest for this appliance's platform
// (HostPlatform()), else its first. NotFound for a missing
// repository or image. Blocks (opens the blob files).
Result<ImageExport> PrepareExport(Registry& registry, std::string_view account, std::string_view repository,
                                  std::string_view reference);

// The 512-byte ustar header of a regular file.
std::string TarHeader(std::string_view name, uint64_t size);
// Zero bytes after an entry of `size` bytes up to the next 512-byte block.
inline uint64_t TarPadding(uint64_t size) { return (512 - size % 512) % 512; }
// Two zero blocks end the archive.
inline constexpr uint64_t kTarTrailerBytes = 1024;

// Writes the whole archive (for callers with a file rather than a socket).
Status WriteExport(const ImageExport& image, os::WritableFile& out);

}  // namespace annex::registry
