#include "services/registry/image_snapshots.h"

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>

#include "appliance/core/log.h"
#include "appliance/crypto/hash.h"
#include "services/registry/rootfs_dir.h"

namespace annex::registry {

// One mutex per chain id, existing while someone holds or waits for it.
class SnapshotCache::ChainLocks {
 public:
  class Guard {
   public:
    Guard(ChainLocks& locks, const std::string& key) : locks_(locks), key_(key) { locks_.Lock(key_); }
    ~Guard() { locks_.Unlock(key_); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    ChainLocks& locks_;
    std::string key_;
  };

 private:
  struct Entry {
    bool held = false;
    int waiters = 0;
  };
  void Lock(const std::string& key) {
    std::unique_lock lock(mu_);
    Entry& e = entries_[key];
    ++e.waiters;
    cv_.wait(lock, [&] { return !e.held; });
    --e.waiters;
    e.held = true;
  }
  void Unlock(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    it->second.held = false;
    if (it->second.waiters == 0) entries_.erase(it);
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;  // node-based: references stay valid
};

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain;
  chain.reserve(diff_ids.size());
  for (const std::string& diff_id : diff_ids) {
    chain.push_back(chain.empty() ? diff_id : "sha256:" + crypto::Sha256Hex(chain.back() + " " + diff_id));
  }
  return chain;
}

SnapshotCache::SnapshotCache(std::string root, UnpackLimits limits)
    : root_(std::move(root)), limits_(limits), locks_(std::make_unique<ChainLocks>()) {}

SnapshotCache::~SnapshotCache() = default;

Status SnapshotCache::Init() {
  os::FileSystem& fs = os::PosixFileSystem();
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(root_ + "/tmp"));
  ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> leftovers, fs.ListDir(root_ + "/tmp"));
  for (const std::string& name : leftovers) {
    log::Info("removing an unfinished image snapshot", {{"dir", name}});
    ANNEX_RETURN_IF_ERROR(rootfs::RemoveTree(root_ + "/tmp/" + name));
  }
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(root_ + "/sha256"));
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(root_ + "/holds"));
  return fs.CreateDirs(root_ + "/empty");
}

std::string SnapshotCache::SnapshotDir(const std::string& chain_id) const {
  std::string_view hex = chain_id;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  return root_ + "/sha256/" + std::string(hex);
}

uint64_t SnapshotCache::layers_built() const {
  std::lock_guard lock(mu_);
  return layers_built_;
}

namespace {

// "sha256:" and 64 lower-case hex digits (digest.h has the same rule; this
// library stands apart from the store's).
bool IsSha256(std::string_view digest) {
  if (digest.size() != 71 || !digest.starts_with("sha256:")) return false;
  for (char c : digest.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsDir(const std::string& path) {
  Result<rootfs::NodeKind> kind = rootfs::KindAt(AT_FDCWD, path);
  return kind.ok() && *kind == rootfs::NodeKind::kDirectory;
}

}  // namespace

Result<std::string> SnapshotCache::EnsureLocked(const std::vector<LayerSource>& layers, const OpenBlob& open) {
  if (layers.empty()) return root_ + "/empty";
  std::vector<std::string> diff_ids;
  for (const LayerSource& l : layers) {
    // Chain ids name directories: only well-formed digests may build them.
    if (!IsSha256(l.diff_id) || !IsSha256(l.blob_digest)) {
      return Status::InvalidArgument("invalid layer digest '" + l.diff_id + "'");
    }
    diff_ids.push_back(l.diff_id);
  }
  std::vector<std::string> chain = ChainIds(diff_ids);
  // Start above the highest snapshot that already exists.
  size_t first = layers.size();
  while (first > 0 && !IsDir(SnapshotDir(chain[first - 1]))) --first;
  for (size_t i = first; i < layers.size(); ++i) {
    ChainLocks::Guard guard(*locks_, chain[i]);
    if (IsDir(SnapshotDir(chain[i]))) continue;  // another caller built it while we waited
    std::string parent = i == 0 ? std::string() : SnapshotDir(chain[i - 1]);
    ANNEX_RETURN_IF_ERROR(Build(parent, chain[i], layers[i], open));
  }
  return SnapshotDir(chain.back());
}

Result<std::string> SnapshotCache::TempDir(const std::string& chain_id) {
  uint64_t n;
  {
    std::lock_guard lock(mu_);
    n = ++temp_counter_;
  }
  std::string dir = root_ + "/tmp/" + std::string(std::string_view(chain_id).substr(7)) + "." +
                    std::to_string(getpid()) + "." + std::to_string(n);
  ANNEX_RETURN_IF_ERROR(os::PosixFileSystem().CreateDirs(dir));
  return dir;
}

Status SnapshotCache::Build(const std::string& parent_dir, const std::string& chain_id, const LayerSource& layer,
                            const OpenBlob& open) {
  ANNEX_ASSIGN_OR_RETURN(std::string tmp, TempDir(chain_id));
  auto build = [&]() -> Status {
    ANNEX_ASSIGN_OR_RETURN(rootfs::UniqueFd dst, rootfs::OpenDir(tmp));
    if (!parent_dir.empty()) {
      ANNEX_ASSIGN_OR_RETURN(rootfs::UniqueFd src, rootfs::OpenDir(parent_dir));
      ANNEX_RETURN_IF_ERROR(rootfs::CloneTree(src.get(), dst.get()));
    }
    ANNEX_ASSIGN_OR_RETURN(os::RandomAccessFilePtr blob, open(layer.blob_digest));
    ANNEX_ASSIGN_OR_RETURN(LayerStats stats, ApplyLayer(*blob, tmp, limits_));
    if (stats.diff_id != layer.diff_id) {
      return Status::Corruption("layer " + layer.blob_digest + " unpacks to " + stats.diff_id +
                                ", but the image config says " + layer.diff_id);
    }
    // Durable before it becomes visible: a crash never leaves a half-written snapshot in sha256/.
    ANNEX_RETURN_IF_ERROR(rootfs::SyncFileSystem(dst.get()));
    Status renamed = rootfs::RenameDir(tmp, SnapshotDir(chain_id));
    if (!renamed.ok() && renamed.code() != StatusCode::kAlreadyExists) return renamed;
    log::Info("image layer unpacked", {{"layer", layer.blob_digest},
                                       {"chain", chain_id},
                                       {"entries", std::to_string(stats.entries)},
                                       {"skipped", std::to_string(stats.skipped)}});
    return rootfs::SyncDir(root_ + "/sha256");
  };
  Status st = build();
  if (IsDir(tmp)) rootfs::RemoveTree(tmp).IgnoreError();  // failed, or lost a race to another process
  if (!st.ok()) return st;
  std::lock_guard lock(mu_);
  ++layers_built_;
  return Status::OK();
}

}  // namespace annex::registry
