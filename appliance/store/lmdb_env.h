#pragma once
// LmdbEnv: one LMDB environment (a directory holding data.mdb) with named
// tables, short read transactions and durable write transactions.
//
// Reads: ReadTxn is cheap (LMDB MVCC snapshot) — open one per request, keep
// it short. Writes: WriteTxn takes LMDB's single writer lock; commit fsyncs.
// For many concurrent small writes use GroupCommitter (group_commit.h),
// which folds them into one transaction and one fsync.
//
// Thread safety: LmdbEnv and Table are thread-safe. A transaction belongs to
// one thread (the env is opened MDB_NOTLS, so read txns may move between
// threads, but must not be used by two at once).

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::store {

// A named table (an LMDB DBI). Valid as long as its LmdbEnv.
struct Table {
  MDB_dbi dbi = 0;
};

class Cursor;
class LmdbEnv;

class ReadTxn {
 public:
  ReadTxn(ReadTxn&& other) noexcept;
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ReadTxn(const ReadTxn&) = delete;
  virtual ~ReadTxn();

  // The value stored under `key`, or nullopt. The view is valid until the
  // transaction ends (it points into the memory map).
  Result<std::optional<std::string_view>> Get(Table table, std::string_view key) const;
  Result<Cursor> OpenCursor(Table table) const;

  MDB_txn* raw() const { return txn_; }

 protected:
  friend class LmdbEnv;
  // `pool`: the env a read-only txn returns to when done (reset, not aborted).
  ReadTxn(MDB_txn* txn, const LmdbEnv* pool) : txn_(txn), pool_(pool) {}
  MDB_txn* txn_ = nullptr;
  const LmdbEnv* pool_ = nullptr;
};

class WriteTxn : public ReadTxn {
 public:
  WriteTxn(WriteTxn&&) noexcept = default;
  ~WriteTxn() override;  // aborts unless committed

  Status Put(Table table, std::string_view key, std::string_view value);
  // NotFound when absent.
  Status Delete(Table table, std::string_view key);
  // Makes every change durable (fsync) before returning OK.
  Status Commit();
  // For GroupCommitter in an environment with defer_meta_sync: commits with
  // the data pages flushed but the meta page not yet — durable once the next
  // commit's data flush or LmdbEnv::SyncMetaPage() has run.
  Status CommitDeferred();
  void Abort();

  // A nested transaction: its changes join this one on Commit, or vanish on
  // Abort without touching the parent's. Used by GroupCommitter to isolate
  // one failing request in a batch.
  Result<WriteTxn> BeginNested();

 private:
  friend class LmdbEnv;
  WriteTxn(MDB_txn* txn, const LmdbEnv* owner, bool nested)
      : ReadTxn(txn, nullptr), owner_(owner), nested_(nested) {}
  Status CommitRaw();
  // LmdbStatus, or ResourceExhausted for a write the full disk cut short.
  Status WriteStatus(int rc, std::string_view context) const;
  const LmdbEnv* owner_ = nullptr;
  bool nested_ = false;
};

// Iterates a table in key order (bytewise, as LMDB compares by default).
class Cursor {
 public:
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&&) = delete;
  Cursor(const Cursor&) = delete;
  ~Cursor();

  // Positions at the first key >= `key`.
  Status Seek(std::string_view key);
  Status SeekFirst();
  // Positions at the last key < `key` (for reverse scans), or at the end.
  Status SeekBefore(std::string_view key);
  Status Next();
  Status Prev();
  bool Valid() const { return valid_; }
  std::string_view key() const { return {static_cast<const char*>(key_.mv_data), key_.mv_size}; }
  std::string_view value() const { return {static_cast<const char*>(value_.mv_data), value_.mv_size}; }

 private:
  friend class ReadTxn;
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  Status Move(MDB_cursor_op op, std::string_view key = {});
  MDB_cursor* cursor_ = nullptr;
  MDB_val key_{}, value_{};
  bool valid_ = false;
};

class LmdbEnv {
 public:
  struct Options {
    size_t map_size = size_t{1} << 36;  // 64 GiB of address space, not of disk
    unsigned max_tables = 32;
    // MDB_NOMETASYNC: a commit flushes its data pages but not the meta page,
    // which the next commit's flush (or SyncMetaPage) makes durable. LMDB stays
    // consistent either way. GroupCommitter uses it to pay one flush per batch
    // instead of two; plain WriteTxn::Commit still flushes both.
    bool defer_meta_sync = false;
    // LMDB reports a write that a full disk cut short as EIO, not ENOSPC
    // (mdb_page_flush: "short write, filesystem full?"). A failed write then
    // counts as a full disk while fewer than this many bytes are free: the
    // margin covers space freed between the failure and the look (a failed
    // upload removing its temporary file). 0: EIO is never a full disk.
    uint64_t full_disk_margin = uint64_t{64} << 20;
  };

  // Opens (creating if needed) the environment in directory `dir`.
  static Result<std::unique_ptr<LmdbEnv>> Open(const std::string& dir, const Options& options);
  static Result<std::unique_ptr<LmdbEnv>> Open(const std::string& dir) { return Open(dir, Options{}); }
  ~LmdbEnv();

  // Opens or creates a table. Call at startup, before concurrent use.
  Result<Table> OpenTable(const std::string& name);

  Result<ReadTxn> BeginRead() const;
  Result<WriteTxn> BeginWrite();

  MDB_env* raw() const { return env_; }
  bool defers_meta_sync() const { return defer_meta_sync_; }
  // Flushes everything committed so far, meta page included.
  Status SyncMetaPage() const;
  // The id of the last committed write transaction (unchanged by a commit
  // that had nothing to write — LMDB then skips the flush too).
  uint64_t LastTxnId() const;

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  LmdbEnv(MDB_env* env, std::string dir, const Options& options)
      : env_(env), dir_(std::move(dir)), defer_meta_sync_(options.defer_meta_sync),
        full_disk_margin_(options.full_disk_margin) {}
  // LmdbStatus(rc), except that EIO on a nearly full disk is ResourceExhausted.
  Status WriteStatus(int rc, std::string_view context) const;
  bool DiskNearlyFull() const;
  // Read transactions are reset and renewed rather than reopened: renewing
  // keeps the reader slot, so a read costs no slot allocation or lock-file lock.
  void Recycle(MDB_txn* txn) const;

  MDB_env* env_;
  std::string dir_;
  bool defer_meta_sync_ = false;
  uint64_t full_disk_margin_ = 0;
  mutable std::mutex idle_mu_;
  mutable std::vector<MDB_txn*> idle_readers_;  // reset, ready for mdb_txn_renew
};

// Maps an LMDB return code to a Status (MDB_MAP_FULL and ENOSPC →
// ResourceExhausted). Writes through an LmdbEnv also map EIO so when the
// disk is nearly full (Options::full_disk_margin).
Status LmdbStatus(int rc, std::string_view context);

}  // namespace annex::store
