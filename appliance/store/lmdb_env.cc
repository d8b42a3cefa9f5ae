#include "appliance/store/lmdb_env.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>

namespace annex::store {

Status LmdbStatus(int rc, std::string_view context) {
  if (rc == MDB_SUCCESS) return Status::OK();
  std::string msg(context);
  msg += ": ";
  msg += mdb_strerror(rc);
  if (rc == MDB_MAP_FULL || rc == ENOSPC) return Status::ResourceExhausted(std::move(msg));
  if (rc == MDB_NOTFOUND) return Status::NotFound(std::move(msg));
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_VERSION_MISMATCH || rc == MDB_INVALID)
    return Status::Corruption(std::move(msg));
  return Status::IOError(std::move(msg));
}

namespace {
MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
}  // namespace

// ReadTxn -------------------------------------------------------------------

ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : txn_(std::exchange(other.txn_, nullptr)), pool_(std::exchange(other.pool_, nullptr)) {}

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    if (txn_) pool_ ? pool_->Recycle(txn_) : mdb_txn_abort(txn_);
    txn_ = std::exchange(other.txn_, nullptr);
    pool_ = std::exchange(other.pool_, nullptr);
  }
  return *this;
}

ReadTxn::~ReadTxn() {
  if (txn_) pool_ ? pool_->Recycle(txn_) : mdb_txn_abort(txn_);
}

Result<std::optional<std::string_view>> ReadTxn::Get(Table table, std::string_view key) const {
  MDB_val k = ToVal(key), v{};
  int rc = mdb_get(txn_, table.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_get");
  return std::optional<std::string_view>(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
}

Result<Cursor> ReadTxn::OpenCursor(Table table) const {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn_, table.dbi, &c);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_cursor_open");
  return Cursor(c);
}

// WriteTxn ------------------------------------------------------------------

WriteTxn::~WriteTxn() {
  if (txn_) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
}

Status WriteTxn::WriteStatus(int rc, std::string_view context) const {
  return owner_ ? owner_->WriteStatus(rc, context) : LmdbStatus(rc, context);
}

// Put and Delete write too: a large transaction spills dirty pages to disk.
Status WriteTxn::Put(Table table, std::string_view key, std::string_view value) {
  MDB_val k = ToVal(key), v = ToVal(value);
  return WriteStatus(mdb_put(txn_, table.dbi, &k, &v, 0), "mdb_put");
}

Status WriteTxn::Delete(Table table, std::string_view key) {
  MDB_val k = ToVal(key);
  return WriteStatus(mdb_del(txn_, table.dbi, &k, nullptr), "mdb_del");
}

Status WriteTxn::CommitRaw() {
  MDB_txn* t = std::exchange(txn_, nullptr);
  if (!t) return Status::FailedPrecondition("commit of a finished transaction");
  return WriteStatus(mdb_txn_commit(t), "mdb_txn_commit");
}

Status WriteTxn::Commit() {
  ANNEX_RETURN_IF_ERROR(CommitRaw());
  if (!nested_ && owner_ && owner_->defers_meta_sync()) return owner_->SyncMetaPage();
  return Status::OK();
}

Status WriteTxn::CommitDeferred() { return CommitRaw(); }

void WriteTxn::Abort() {
  if (txn_) mdb_txn_abort(std::exchange(txn_, nullptr));
}

Result<WriteTxn> WriteTxn::BeginNested() {
  MDB_txn* child = nullptr;
  int rc = mdb_txn_begin(mdb_txn_env(txn_), txn_, 0, &child);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_txn_begin(nested)");
  return WriteTxn(child, owner_, true);
}

// Cursor --------------------------------------------------------------------

Cursor::Cursor(Cursor&& other) noexcept
    : cursor_(std::exchange(other.cursor_, nullptr)), key_(other.key_), value_(other.value_), valid_(other.valid_) {}

Cursor::~Cursor() {
  if (cursor_) mdb_cursor_close(cursor_);
}

Status Cursor::Move(MDB_cursor_op op, std::string_view key) {
  if (op == MDB_SET_RANGE) key_ = ToVal(key);
  int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
  if (rc == MDB_NOTFOUND) {
    valid_ = false;
    return Status::OK();
  }
  if (rc != MDB_SUCCESS) {
    valid_ = false;
    return LmdbStatus(rc, "mdb_cursor_get");
  }
  valid_ = true;
  return Status::OK();
}

Status Cursor::Seek(std::string_view key) { return Move(MDB_SET_RANGE, key); }
Status Cursor::SeekFirst() { return Move(MDB_FIRST); }
Status Cursor::Next() { return Move(MDB_NEXT); }
Status Cursor::Prev() { return Move(MDB_PREV); }

Status Cursor::SeekBefore(std::string_view key) {
  ANNEX_RETURN_IF_ERROR(Seek(key));
  if (valid_) return Prev();
  return Move(MDB_LAST);
}

// LmdbEnv -------------------------------------------------------------------

Result<std::unique_ptr<LmdbEnv>> LmdbEnv::Open(const std::string& dir, const Options& options) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Status::FromErrno(errno, "mkdir " + dir);
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_env_create");
  auto fail = [&](int code, std::string_view what) -> Status {
    mdb_env_close(env);
    return LmdbStatus(code, what);
  };
  if ((rc = mdb_env_set_mapsize(env, options.map_size)) != MDB_SUCCESS) return fail(rc, "mdb_env_set_mapsize");
  if ((rc = mdb_env_set_maxdbs(env, options.max_tables)) != MDB_SUCCESS) return fail(rc, "mdb_env_set_maxdbs");
  if ((rc = mdb_env_set_maxreaders(env, 512)) != MDB_SUCCESS) return fail(rc, "mdb_env_set_maxreaders");
  // NOTLS: read transactions are tied to the transaction object, not the thread,
  // so a coroutine may resume on another io thread while holding one.
  unsigned flags = MDB_NOTLS | (options.defer_meta_sync ? MDB_NOMETASYNC : 0);
  rc = mdb_env_open(env, dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) return fail(rc, "mdb_env_open " + dir);
  // Clear reader slots left behind by a killed process.
  int dead = 0;
  mdb_reader_check(env, &dead);
  return std::unique_ptr<LmdbEnv>(new LmdbEnv(env, dir, options));
}

Status LmdbEnv::WriteStatus(int rc, std::string_view context) const {
  if (rc == EIO && DiskNearlyFull()) {
    std::string msg(context);
    msg += ": write cut short, the disk is full";
    return Status::ResourceExhausted(std::move(msg));
  }
  return LmdbStatus(rc, context);
}

bool LmdbEnv::DiskNearlyFull() const {
  if (full_disk_margin_ == 0) return false;
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) return false;
  uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  return free_bytes < full_disk_margin_;
}

Status LmdbEnv::SyncMetaPage() const { return WriteStatus(mdb_env_sync(env_, 1), "mdb_env_sync"); }

uint64_t LmdbEnv::LastTxnId() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return static_cast<uint64_t>(info.me_last_txnid);
}

LmdbEnv::~LmdbEnv() {
  for (MDB_txn* txn : idle_readers_) mdb_txn_abort(txn);
  mdb_env_close(env_);
}

void LmdbEnv::Recycle(MDB_txn* txn) const {
  constexpr size_t kMaxIdle = 64;
  mdb_txn_reset(txn);
  {
    std::lock_guard lock(idle_mu_);
    if (idle_readers_.size() < kMaxIdle) {
      idle_readers_.push_back(txn);
      return;
    }
  }
  mdb_txn_abort(txn);
}

Result<Table> LmdbEnv::OpenTable(const std::string& name) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_txn_begin");
  MDB_dbi dbi;
  rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi);
  if (rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    return LmdbStatus(rc, "mdb_dbi_open " + name);
  }
  rc = mdb_txn_commit(txn);
  if (rc != MDB_SUCCESS) return WriteStatus(rc, "mdb_txn_commit");
  return Table{dbi};
}

Result<ReadTxn> LmdbEnv::BeginRead() const {
  MDB_txn* txn = nullptr;
  {
    std::lock_guard lock(idle_mu_);
    if (!idle_readers_.empty()) {
      txn = idle_readers_.back();
      idle_readers_.pop_back();
    }
  }
  if (txn) {
    int rc = mdb_txn_renew(txn);
    if (rc == MDB_SUCCESS) return ReadTxn(txn, this);
    mdb_txn_abort(txn);
    txn = nullptr;
  }
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_txn_begin(read)");
  return ReadTxn(txn, this);
}

Result<WriteTxn> LmdbEnv::BeginWrite() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_txn_begin(write)");
  return WriteTxn(txn, this, false);
}

}  // namespace annex::store
