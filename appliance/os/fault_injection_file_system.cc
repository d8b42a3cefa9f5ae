#include "appliance/os/fault_injection_file_system.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

namespace annex::os {

class FaultInjectionWritableFile final : public WritableFile {
 public:
  FaultInjectionWritableFile(WritableFilePtr base, std::string path, FaultInjectionFileSystem& fs)
      : base_(std::move(base)), path_(std::move(path)), fs_(fs) {}

  Status Append(std::string_view data) override {
    ANNEX_RETURN_IF_ERROR(fs_.PoweredOff("write"));
    int64_t budget = fs_.write_budget_.load();
    if (budget >= 0 && fs_.bytes_written_.load() + static_cast<int64_t>(data.size()) > budget) {
      return Status::FromErrno(ENOSPC, "write (injected)");
    }
    fs_.bytes_written_ += static_cast<int64_t>(data.size());
    return base_->Append(data);
  }
  Status Sync() override {
    ANNEX_RETURN_IF_ERROR(fs_.PoweredOff("fdatasync"));
    if (fs_.fail_syncs_.load()) return Status::FromErrno(EIO, "fdatasync (injected)");
    ANNEX_RETURN_IF_ERROR(base_->Sync());
    fs_.NoteSync(path_, base_->Size());
    return Status::OK();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  WritableFilePtr base_;
  std::string path_;  // as created: a rename while the file is open is not modelled
  FaultInjectionFileSystem& fs_;
};

Status FaultInjectionFileSystem::PoweredOff(const char* op) const {
  if (powered_off_.load()) return Status::FromErrno(EIO, std::string(op) + " (power lost)");
  return Status::OK();
}

void FaultInjectionFileSystem::NoteSync(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  auto it = synced_size_.find(path);
  if (it != synced_size_.end()) it->second = std::max(it->second, size);
}

Result<WritableFilePtr> FaultInjectionFileSystem::NewWritableFile(const std::string& path, unsigned mode,
                                                                  WriteCaching caching) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("open"));
  ANNEX_ASSIGN_OR_RETURN(auto file, base_.NewWritableFile(path, mode, caching));
  {
    std::lock_guard lock(mu_);
    synced_size_[path] = 0;
    pending_entries_.push_back({.from = {}, .to = path, .replaced = {}, .dir = DirName(path)});
  }
  return WritableFilePtr(std::make_unique<FaultInjectionWritableFile>(std::move(file), path, *this));
}

Result<RandomAccessFilePtr> FaultInjectionFileSystem::OpenForRead(const std::string& path) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("open"));
  return base_.OpenForRead(path);
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("rename"));
  if (fail_renames_.load()) return Status::FromErrno(EIO, "rename (injected)");
  // What a power cut would bring back at `to`: its durable contents.
  std::optional<std::string> replaced;
  if (base_.Exists(to)) {
    auto contents = ReadFileToString(base_, to);
    if (contents.ok()) replaced = std::move(*contents);
  }
  ANNEX_RETURN_IF_ERROR(base_.Rename(from, to));
  std::lock_guard lock(mu_);
  if (replaced) {
    auto old = synced_size_.find(to);
    if (old != synced_size_.end()) replaced->resize(std::min<uint64_t>(replaced->size(), old->second));
  }
  synced_size_.erase(to);
  if (auto node = synced_size_.extract(from)) {
    node.key() = to;
    synced_size_.insert(std::move(node));
  }
  // The new name is durable once its directory is synced; whether the old
  // name could come back too is not modelled.
  pending_entries_.push_back({.from = from, .to = to, .replaced = std::move(replaced), .dir = DirName(to)});
  return Status::OK();
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("fsync dir"));
  if (fail_dir_syncs_.load()) return Status::FromErrno(EIO, "fsync dir (injected)");
  ANNEX_RETURN_IF_ERROR(base_.SyncDir(path));
  std::lock_guard lock(mu_);
  std::erase_if(pending_entries_, [&](const PendingEntry& e) { return e.dir == path; });
  return Status::OK();
}

Status FaultInjectionFileSystem::Remove(const std::string& path) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("unlink"));
  ANNEX_RETURN_IF_ERROR(base_.Remove(path));
  std::lock_guard lock(mu_);
  synced_size_.erase(path);
  return Status::OK();
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("mkdir"));
  return base_.CreateDirs(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(const std::string& path) {
  ANNEX_RETURN_IF_ERROR(PoweredOff("opendir"));
  return base_.ListDir(path);
}

void FaultInjectionFileSystem::SimulatePowerLoss() {
  powered_off_.store(true);
  std::lock_guard lock(mu_);
  namespace fs = std::filesystem;
  std::error_code ec;
  // Undo directory changes newest first, so a chain of renames unwinds in order.
  for (auto it = pending_entries_.rbegin(); it != pending_entries_.rend(); ++it) {
    if (it->from.empty()) {
      fs::remove(it->to, ec);
      synced_size_.erase(it->to);
      continue;
    }
    if (fs::exists(it->to, ec)) {
      fs::rename(it->to, it->from, ec);
      if (auto node = synced_size_.extract(it->to)) {
        node.key() = it->from;
        synced_size_.insert(std::move(node));
      }
    }
    if (it->replaced) std::ofstream(it->to, std::ios::binary | std::ios::trunc) << *it->replaced;
  }
  pending_entries_.clear();
  // Then drop every file's unsynced tail.
  for (const auto& [path, synced] : synced_size_) {
    auto size = fs::file_size(path, ec);
    if (!ec && size > synced) fs::resize_file(path, synced, ec);
  }
  synced_size_.clear();
}

}  // namespace annex::os
