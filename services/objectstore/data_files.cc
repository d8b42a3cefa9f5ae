#include "services/objectstore/data_files.h"

#include <cstdio>

#include "appliance/core/log.h"
#include "appliance/os/random.h"

namespace annex::objectstore {
namespace {

constexpr size_t kIdBytes = 16;  // 32 hex characters
constexpr unsigned kFileMode = 0640;

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// Index of the data/xx/yy directory of `id`.
size_t LeafIndex(std::string_view id) {
  return static_cast<size_t>(HexValue(id[0]) << 12 | HexValue(id[1]) << 8 | HexValue(id[2]) << 4 |
                             HexValue(id[3]));
}

std::string Hex2(unsigned v) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02x", v & 0xff);
  return buf;
}

}  // namespace

DataFiles::DataFiles(os::FileSystem& fs, std::string root)
    : fs_(fs), root_(std::move(root)), tmp_dir_(os::JoinPath(root_, "tmp")), data_dir_(os::JoinPath(root_, "data")) {}

bool DataFiles::IsValidId(std::string_view id) {
  if (id.size() != 2 * kIdBytes) return false;
  for (char c : id) {
    if (!IsHex(c)) return false;
  }
  return true;
}

std::string DataFiles::PathOf(std::string_view id) const {
  std::string path = data_dir_;
  path += '/';
  path.append(id.substr(0, 2));
  path += '/';
  path.append(id.substr(2, 2));
  path += '/';
  path.append(id);
  return path;
}

Status DataFiles::Init() {
  ANNEX_RETURN_IF_ERROR(fs_.CreateDirs(tmp_dir_));
  for (unsigned i = 0; i < 256; ++i) {
    ANNEX_RETURN_IF_ERROR(fs_.CreateDirs(os::JoinPath(data_dir_, Hex2(i))));
  }
  ANNEX_RETURN_IF_ERROR(fs_.SyncDir(data_dir_));
  return fs_.SyncDir(root_);
}

Result<DataFiles::TempFile> DataFiles::CreateTemp() {
  TempFile f;
  f.id = os::RandomHex(kIdBytes);
  f.path = os::JoinPath(tmp_dir_, f.id);
  ANNEX_ASSIGN_OR_RETURN(f.file, fs_.NewWritableFile(f.path, kFileMode, os::WriteCaching::kBypassCache));
  return f;
}

Status DataFiles::EnsureLeafDir(std::string_view id) {
  size_t index = LeafIndex(id);
  uint64_t bit = uint64_t{1} << (index % 64);
  auto& word = leaf_ready_[index / 64];
  if (word.load(std::memory_order_acquire) & bit) return Status::OK();
  std::string parent = os::JoinPath(data_dir_, id.substr(0, 2));
  std::string leaf = os::JoinPath(parent, id.substr(2, 2));
  bool existed = fs_.Exists(leaf);
  ANNEX_RETURN_IF_ERROR(fs_.CreateDirs(leaf));
  // A new directory entry is durable only once its parent is synced.
  if (!existed) ANNEX_RETURN_IF_ERROR(fs_.SyncDir(parent));
  word.fetch_or(bit, std::memory_order_release);
  return Status::OK();
}

Status DataFiles::Publish(TempFile& f) {
  Status s = f.file->Sync();
  Status c = f.file->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = EnsureLeafDir(f.id);
  std::string final_path = PathOf(f.id);
  if (s.ok()) s = fs_.Rename(f.path, final_path);
  if (!s.ok()) {
    fs_.Remove(f.path).IgnoreError();
    return s;
  }
  s = fs_.SyncDir(os::DirName(final_path));
  if (!s.ok()) {
    // Not durable: take it back so no record can ever point at it.
    fs_.Remove(final_path).IgnoreError();
    return s;
  }
  f.file.reset();
  return Status::OK();
}

void DataFiles::Discard(TempFile& f) {
  if (f.file) {
    f.file->Close().IgnoreError();
    f.file.reset();
    fs_.Remove(f.path).IgnoreError();
  }
}

Result<os::RandomAccessFilePtr> DataFiles::Open(std::string_view id) const {
  if (!IsValidId(id)) return Status::Corruption("bad data file id");
  return fs_.OpenForRead(PathOf(id));
}

Status DataFiles::Remove(std::string_view id) {
  if (!IsValidId(id)) return Status::Corruption("bad data file id");
  Status s = fs_.Remove(PathOf(id));
  if (s.IsNotFound()) return Status::OK();
  return s;
}

Result<DataFiles::CleanupStats> DataFiles::CleanOrphans(const std::function<bool(std::string_view)>& referenced) {
  CleanupStats stats;
  ANNEX_ASSIGN_OR_RETURN(auto temps, fs_.ListDir(tmp_dir_));
  for (const auto& name : temps) {
    ANNEX_RETURN_IF_ERROR(fs_.Remove(os::JoinPath(tmp_dir_, name)));
    ++stats.temp_removed;
  }
  ANNEX_ASSIGN_OR_RETURN(auto tops, fs_.ListDir(data_dir_));
  for (const auto& top : tops) {
    std::string top_path = os::JoinPath(data_dir_, top);
    ANNEX_ASSIGN_OR_RETURN(auto leaves, fs_.ListDir(top_path));
    for (const auto& leaf : leaves) {
      std::string leaf_path = os::JoinPath(top_path, leaf);
      ANNEX_ASSIGN_OR_RETURN(auto files, fs_.ListDir(leaf_path));
      for (const auto& name : files) {
        if (IsValidId(name) && referenced(name)) {
          ++stats.kept;
          continue;
        }
        ANNEX_RETURN_IF_ERROR(fs_.Remove(os::JoinPath(leaf_path, name)));
        ++stats.orphans_removed;
      }
      if (top.size() == 2 && leaf.size() == 2 && IsValidId(top + leaf + std::string(28, '0'))) {
        size_t index = LeafIndex(top + leaf);
        leaf_ready_[index / 64].fetch_or(uint64_t{1} << (index % 64));
      }
    }
  }
  if (stats.orphans_removed > 0 || stats.temp_removed > 0) {
    log::Info("objectstore: removed orphaned data files",
              {{"temp", std::to_string(stats.temp_removed)}, {"orphans", std::to_string(stats.orphans_removed)}});
  }
  return stats;
}

}  // namespace annex::objectstore
