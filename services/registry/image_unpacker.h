#pragma once
// ApplyLayer: one image layer (a tar, gzip- or zstd-compressed or not)
// applied onto a directory tree, as the OCI image spec's "Applying
// Changesets" describes and containerd does:
//   - entries replace what lower layers left at their path (a file is
//     unlinked and created anew, never written in place: the tree may share
//     inodes with other snapshots, see image_snapshots.h);
//   - `.wh.<name>` deletes <name> from lower layers; `.wh..wh..opq` hides
//     everything lower layers put in its directory, whatever the order of
//     the layer's own entries around it;
//   - hard links point inside the tree; symlinks are stored as they are and
//     never followed while unpacking: an entry below a symlink is skipped;
//   - owner (when running as root), mode bits with setuid/setgid/sticky
//     (after content and owner), mtimes, and `user.*`/`security.capability`
//     xattrs are applied; directories get theirs once the layer is done.
// Skipped with a logged reason (log::Warn) and counted: absolute paths,
// `..` components, device nodes, fifos and sockets, entries over
// max_entry_bytes, names over the length limits, hard links that leave the
// tree or name a directory. Failing the whole layer: a corrupt or truncated
// stream, more than max_entries entries or max_layer_bytes uncompressed.
//
// On failure the tree is left partly changed: apply onto a copy that is
// discarded on error (the snapshot cache builds in a temp directory).
//
// Blocks on the disk; thread-safe for distinct trees.

#include <cstdint>
#include <string>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"

namespace annex::registry {

struct UnpackLimits {
  uint64_t max_entry_bytes = uint64_t{8} << 30;   // one file's size
  uint64_t max_layer_bytes = uint64_t{64} << 30;  // the uncompressed tar
  uint64_t max_entries = 1'000'000;
  size_t max_path_bytes = 4096;  // PATH_MAX
  size_t max_name_bytes = 255;   // NAME_MAX
  size_t max_depth = 128;        // components; bounds open descriptors while cloning
};

struct LayerStats {
  std::string diff_id;  // sha256 of the uncompressed tar, "sha256:…"
  uint64_t entries = 0;
  uint64_t skipped = 0;  // entries left out, each logged with its reason
  uint64_t uncompressed_bytes = 0;
};

// Applies the layer in `blob` onto the existing directory `root_dir`.
Result<LayerStats> ApplyLayer(const os::RandomAccessFile& blob, const std::string& root_dir,
                              const UnpackLimits& limits = UnpackLimits());

}  // namespace annex::registry
