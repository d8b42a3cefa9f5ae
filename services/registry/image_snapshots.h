#pragma once
// SnapshotCache: unpacked images on disk, shared between images by their
// common base layers.
//
// Each prefix of an image's layer list is a snapshot directory keyed by its
// chain id (OCI image spec): chainID(L1) = diffID(L1),
// chainID(L1..n) = sha256(chainID(L1..n-1) + " " + diffID(Ln)). Snapshot n
// is built by cloning snapshot n-1 with hard links (directories recreated,
// regular files linked, symlinks copied; rootfs_dir.h CloneTree) and
// applying layer n on the clone (image_unpacker.h), which replaces files
// rather than writing into them, so a shared inode never changes. Two
// images with the same base layers share those snapshots and their inodes.
//
// Layout under the root (<registry data>/rootfs):
//   sha256/<chain hex>   finished snapshots: read-only by convention; a
//                        runtime mounts a writable overlay over one
//   tmp/<hex>.<n>        snapshots being built; renamed into sha256/ when
//                        complete (after syncfs), removed on failure and by
//                        Init after a crash
//   empty                the root of an image without layers
//   holds/<sha256(holder)>  the chain id a workload holds (Hold/Release)
//
// Snapshots are collected (Collect) when no workload holds them and none
// was returned by Ensure for a while (a snapshot's mtime is its last use).
// A hold is taken in the same shared section as the Ensure it follows, and
// Collect moves snapshots out of sha256/ under the exclusive side, so a
// snapshot is never removed between its Ensure and its hold, nor while a
// build clones it.
//
// A layer whose uncompressed content does not hash to the diffID the image
// config lists is refused (Corruption) and leaves nothing behind.
//
// Thread-safe: concurrent Ensure calls for the same chain build it once
// (a mutex per chain id); different chains build in parallel. Blocks.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"
#include "services/registry/image_unpacker.h"

namespace annex::registry {

// The chain ids of a layer list, one per prefix.
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

struct LayerSource {
  std::string blob_digest;  // the (compressed) layer blob
  std::string diff_id;      // what the image config says it unpacks to
};

class SnapshotCache {
 public:
  using OpenBlob = std::function<Result<os::RandomAccessFilePtr>(const std::string& digest)>;

  SnapshotCache(std::string root, UnpackLimits limits = UnpackLimits());
  ~SnapshotCache();

  // Creates the layout and removes what interrupted builds left. Call once
  // before Ensure (no build may be running).
  Status Init();

  // The snapshot directory of all of `layers`, built (with any missing
  // lower snapshots) from the blobs `open` returns, and held for `holder`
  // unless it is empty.
  Result<std::string> Ensure(const std::vector<LayerSource>& layers, const OpenBlob& open,
                             std::string_view holder = {});
  // Drops `holder`'s hold; a holder with none is not an error.
  Status Release(std::string_view holder);

  struct CollectStats {
    uint64_t removed = 0;
    uint64_t held = 0;
    uint64_t kept = 0;  // used within `unused_for`
  };
  // Removes the snapshots no holder holds and no Ensure returned within
  // `unused_for` (by the wall clock the file system stamps mtimes with).
  Result<CollectStats> Collect(std::chrono::seconds unused_for);

  // Where the snapshot of `chain_id` lives (whether or not it exists).
  std::string SnapshotDir(const std::string& chain_id) const;

  // Layers unpacked by this object (tests check that a cache hit unpacks nothing).
  uint64_t layers_built() const;

 private:
  class ChainLocks;
  Status Build(const std::string& parent_dir, const std::string& chain_id, const LayerSource& layer,
               const OpenBlob& open);
  Result<std::string> TempDir(const std::string& chain_id);
  Result<std::string> EnsureLocked(const std::vector<LayerSource>& layers, const OpenBlob& open);
  std::string HoldPath(std::string_view holder) const;

  std::string root_;
  UnpackLimits limits_;
  std::unique_ptr<ChainLocks> locks_;
  // Shared by Ensure (and its hold), exclusive while Collect moves snapshots away.
  std::shared_mutex collect_mu_;
  mutable std::mutex mu_;
  uint64_t temp_counter_ = 0;  // guarded by mu_
  uint64_t layers_built_ = 0;  // guarded by mu_
};

}  // namespace annex::registry
