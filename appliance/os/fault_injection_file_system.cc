#include "appliance/os/fault_injection_file_system.h"

#include <cerrno>

namespace annex::os {

class FaultInjectionWritableFile final : public WritableFile {
 public:
  FaultInjectionWritableFile(WritableFilePtr base, FaultInjectionFileSystem& fs) : base_(std::move(base)), fs_(fs) {}

  Status Append(std::string_view data) override {
    int64_t budget = fs_.write_budget_.load();
    if (budget >= 0 && fs_.bytes_written_.load() + static_cast<int64_t>(data.size()) > budget) {
      return Status::FromErrno(ENOSPC, "write (injected)");
    }
    fs_.bytes_written_ += static_cast<int64_t>(data.size());
    return base_->Append(data);
  }
  Status Sync() override {
    if (fs_.fail_syncs_.load()) return Status::FromErrno(EIO, "fdatasync (injected)");
    return base_->Sync();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  WritableFilePtr base_;
  FaultInjectionFileSystem& fs_;
};

Result<WritableFilePtr> FaultInjectionFileSystem::NewWritableFile(const std::string& path, unsigned mode,
                                                                  WriteCaching caching) {
  ANNEX_ASSIGN_OR_RETURN(auto file, base_.NewWritableFile(path, mode, caching));
  return WritableFilePtr(std::make_unique<FaultInjectionWritableFile>(std::move(file), *this));
}

Status FaultInjectionFileSystem::Rename(const std::string& from, const std::string& to) {
  if (fail_renames_.load()) return Status::FromErrno(EIO, "rename (injected)");
  return base_.Rename(from, to);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  if (fail_dir_syncs_.load()) return Status::FromErrno(EIO, "fsync dir (injected)");
  return base_.SyncDir(path);
}

}  // namespace annex::os
