#pragma once
// FaultInjectionFileSystem: a FileSystem decorator for tests that makes
// chosen operations fail — the disk filling up after N bytes, fsync or
// rename failing — so callers' failure paths can be checked: an error comes
// back, nothing half-written becomes visible, temporary files are removed.
//
// Thread-safe (counters are atomics; settings are set before use).

#include <atomic>

#include "appliance/os/file_system.h"

namespace annex::os {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem& base) : base_(base) {}

  // Appends fail with ENOSPC once this many bytes were written in total (-1: never).
  void FailWritesAfterBytes(int64_t bytes) { write_budget_.store(bytes); }
  // Every append fails with ENOSPC from now on (false: none does).
  void FailWrites(bool fail) { write_budget_.store(fail ? bytes_written_.load() : -1); }
  // fdatasync of files fails with EIO.
  void FailSyncs(bool fail) { fail_syncs_.store(fail); }
  // fsync of directories fails with EIO.
  void FailDirSyncs(bool fail) { fail_dir_syncs_.store(fail); }
  void FailRenames(bool fail) { fail_renames_.store(fail); }
  // Bytes appended through this filesystem so far.
  int64_t bytes_written() const { return bytes_written_.load(); }

  // FileSystem
  using FileSystem::NewWritableFile;
  Result<WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode, WriteCaching caching) override;
  Result<RandomAccessFilePtr> OpenForRead(const std::string& path) override { return base_.OpenForRead(path); }
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Status Remove(const std::string& path) override { return base_.Remove(path); }
  Status CreateDirs(const std::string& path) override { return base_.CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override { return base_.ListDir(path); }
  bool Exists(const std::string& path) override { return base_.Exists(path); }

 private:
  friend class FaultInjectionWritableFile;
  FileSystem& base_;
  std::atomic<int64_t> write_budget_{-1};
  std::atomic<int64_t> bytes_written_{0};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<bool> fail_dir_syncs_{false};
  std::atomic<bool> fail_renames_{false};
};

}  // namespace annex::os
