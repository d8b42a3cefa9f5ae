// SnapshotCache: holds and collection of unused snapshots.
#include <fcntl.h>
#include <sys/stat.h>

#include <set>

#include "appliance/core/log.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/file_system.h"
#include "services/registry/image_snapshots.h"
#include "services/registry/rootfs_dir.h"

namespace annex::registry {
namespace {

// A snapshot's last use, as its directory's mtime.
Status Touch(const std::string& dir) {
  if (::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0) != 0) return Status::FromErrno(errno, "touch " + dir);
  return Status::OK();
}

}  // namespace

std::string SnapshotCache::HoldPath(std::string_view holder) const {
  return root_ + "/holds/" + crypto::Sha256Hex(holder);
}

Result<std::string> SnapshotCache::Ensure(const std::vector<LayerSource>& layers, const OpenBlob& open,
                                          std::string_view holder) {
  std::shared_lock lock(collect_mu_);
  ANNEX_ASSIGN_OR_RETURN(std::string dir, EnsureLocked(layers, open));
  if (layers.empty()) return dir;  // the shared empty root is never collected
  ANNEX_RETURN_IF_ERROR(Touch(dir));
  if (!holder.empty()) {
    std::string chain_hex = dir.substr(dir.rfind('/') + 1);
    // Durable: a workload keeps its root filesystem across restarts.
    ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), HoldPath(holder), chain_hex + "\n", 0600));
  }
  return dir;
}

Status SnapshotCache::Release(std::string_view holder) {
  std::shared_lock lock(collect_mu_);
  Status s = os::PosixFileSystem().Remove(HoldPath(holder));
  if (!s.ok() && !s.IsNotFound()) return s;
  return Status::OK();
}

Result<SnapshotCache::CollectStats> SnapshotCache::Collect(std::chrono::seconds unused_for) {
  os::FileSystem& fs = os::PosixFileSystem();
  CollectStats stats;
  std::vector<std::string> doomed;
  {
    std::unique_lock lock(collect_mu_);
    std::set<std::string> held;
    ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> holds, fs.ListDir(root_ + "/holds"));
    for (const std::string& h : holds) {
      Result<std::string> chain = os::ReadFileToString(fs, root_ + "/holds/" + h);
      // The chain id's hex, as Ensure wrote it; a half-written hold (a crash) has none.
      if (chain.ok() && chain->size() >= 64) held.insert(chain->substr(0, 64));
    }
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> snapshots, fs.ListDir(root_ + "/sha256"));
    for (const std::string& hex : snapshots) {
      struct stat st;
      if (held.count(hex)) {
        ++stats.held;
        continue;
      }
      if (::stat((root_ + "/sha256/" + hex).c_str(), &st) != 0) continue;
      if (now.tv_sec - st.st_mtim.tv_sec < unused_for.count()) {
        ++stats.kept;
        continue;
      }
      // Out of sha256/ at once; the slow removal happens outside the lock.
      ANNEX_ASSIGN_OR_RETURN(std::string tmp, TempDir("sha256:" + hex));
      ANNEX_RETURN_IF_ERROR(rootfs::RemoveTree(tmp));
      ANNEX_RETURN_IF_ERROR(rootfs::RenameDir(root_ + "/sha256/" + hex, tmp));
      doomed.push_back(std::move(tmp));
    }
  }
  for (const std::string& dir : doomed) {
    Status removed = rootfs::RemoveTree(dir);
    if (!removed.ok()) log::Warn("image snapshot not removed", {{"dir", dir}, {"error", removed.ToString()}});
    ++stats.removed;
  }
  return stats;
}

}  // namespace annex::registry
