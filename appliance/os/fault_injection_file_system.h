#pragma once
// FaultInjectionFileSystem: a FileSystem decorator for tests that makes
// chosen operations fail — the disk filling up after N bytes, fsync or
// rename failing — so callers' failure paths can be checked: an error comes
// back, nothing half-written becomes visible, temporary files are removed.
//
// It also simulates a power cut. kill -9 keeps the page cache, so a missing
// fsync is invisible to it; SimulatePowerLoss() instead drops everything the
// kernel was not told to make durable (as leveldb's fault-injection test
// environment does):
//   - file contents past the last Sync() of each file written here;
//   - files created, and renames, in a directory not SyncDir()'d since —
//     a rename is undone, and a file it replaced comes back.
// Removals and new directories are taken as durable at once, and only what
// went through this FileSystem is tracked: LMDB does its own I/O.
// After the cut every operation fails with EIO until Restart(), as on a
// machine that lost power; then the files are as the disk would have them.
//
// Thread-safe (counters are atomics; settings are set before use; the
// power-loss bookkeeping has its own lock).

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

  // Cuts the power: drops what was not made durable (see above) and fails
  // every later operation until Restart().
  void SimulatePowerLoss();
  // The machine is back: operations work again, on what survived.
  void Restart() { powered_off_.store(false); }

  // FileSystem
  using FileSystem::NewWritableFile;
  Result<WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode, WriteCaching caching) override;
  Result<RandomAccessFilePtr> OpenForRead(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Status Remove(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool Exists(const std::string& path) override { return base_.Exists(path); }

 private:
  friend class FaultInjectionWritableFile;

  // A new directory entry (a created file, a rename's target) that a power
  // cut undoes until its directory is synced.
  struct PendingEntry {
    std::string from;                     // empty: a file created at `to`
    std::string to;
    std::optional<std::string> replaced;  // contents of the file the rename replaced
    std::string dir;                      // DirName(to)
  };

  Status PoweredOff(const char* op) const;
  void NoteSync(const std::string& path, uint64_t size);

  FileSystem& base_;
  std::atomic<int64_t> write_budget_{-1};
  std::atomic<int64_t> bytes_written_{0};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<bool> fail_dir_syncs_{false};
  std::atomic<bool> fail_renames_{false};
  std::atomic<bool> powered_off_{false};

  std::mutex mu_;
  std::map<std::string, uint64_t> synced_size_;  // files written here, by current path
  std::vector<PendingEntry> pending_entries_;    // oldest first
};

}  // namespace annex::os
