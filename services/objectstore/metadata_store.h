#pragma once
// MetadataStore: the object store's LMDB environment — its four tables
// (records.h), typed lookups, and durable writes through a GroupCommitter so
// that concurrent PUTs share one fsync.
//
// Writes are operations run inside the committer's transaction: each one
// re-reads what it depends on there (the bucket still exists, the key is
// still absent…), so decisions and changes are atomic. An operation reports
// how it changed the object/byte totals through a StatsDelta, applied only
// once the batch is durable.
//
// Thread-safe.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "appliance/http/exchange.h"
#include "appliance/service/resource_feed.h"
#include "appliance/store/group_commit.h"
#include "appliance/store/lmdb_env.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

struct Tables {
  store::Table buckets;
  store::Table objects;   // current versions
  store::Table versions;  // noncurrent versions (versions.h)
  store::Table uploads;
  store::Table parts;
  // Buckets as the sync agent's resources: every bucket write goes through
  // PutBucket/RemoveBucket below, which move the bucket to the feed's head.
  service::ResourceFeed* resources = nullptr;
};

struct StatsDelta {
  int64_t objects = 0;
  int64_t bytes = 0;
};

class MetadataStore {
 public:
  using Operation = std::function<Status(store::WriteTxn&, StatsDelta&)>;

  // Opens (creating) the environment in `dir` and counts stored objects.
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& dir);
  ~MetadataStore();

  const Tables& tables() const { return tables_; }
  Result<store::ReadTxn> BeginRead() const { return env_->BeginRead(); }

  // Runs `op` in a group-committed transaction; resumes once the change is
  // durable (OK) or rolled back (the op's error or the commit's).
  http::Task<Status> Commit(Operation op);
  // The same, blocking the calling thread (startup, tests).
  Status CommitBlocking(Operation op);

  uint64_t object_count() const { return objects_.load(std::memory_order_relaxed); }
  uint64_t byte_count() const { return bytes_.load(std::memory_order_relaxed); }

  // Flushes queued writes and stops the committer.
  void Stop();

 private:
  MetadataStore() = default;
  void Apply(const StatsDelta& d);
  store::GroupCommitter::Operation Wrap(Operation op, std::shared_ptr<StatsDelta> delta);
  Status CountObjects();

  Status SeedResourceFeed();

  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<service::ResourceFeed> resources_;
  std::unique_ptr<store::GroupCommitter> committer_;
  Tables tables_;
  std::atomic<int64_t> objects_{0};
  std::atomic<int64_t> bytes_{0};
};

// Typed lookups within any transaction. nullopt when absent. An object
// whose current version is a delete marker is absent here (versions.h
// reads the markers).
Result<std::optional<BucketRecord>> GetBucket(const store::ReadTxn& txn, const Tables& t, std::string_view bucket);
Result<std::optional<ObjectRecord>> GetObject(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                              std::string_view key, bool with_data = true);
// GetObject into `out`; false when absent (`out` is then unspecified).
Result<bool> LoadObject(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                        ObjectRecord& out, bool with_data = true);
Result<std::optional<UploadRecord>> GetUpload(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                              std::string_view key, std::string_view upload_id);
// Every part of an upload, in part-number order.
Result<std::vector<PartRecord>> GetParts(const store::ReadTxn& txn, const Tables& t, std::string_view upload_id);
// Writes a bucket's record, or removes it, and records the change in the
// resource feed in the same transaction.
Status PutBucket(store::WriteTxn& txn, const Tables& t, std::string_view bucket, const BucketRecord& record);
Status RemoveBucket(store::WriteTxn& txn, const Tables& t, std::string_view bucket);
// Removes an unfinished upload and its parts, appending the parts' data
// files to `files`; false when there is no such upload.
Result<bool> RemoveUpload(store::WriteTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                          std::string_view upload_id, std::vector<std::string>& files);
// True when the bucket holds at least one object version or delete marker.
Result<bool> BucketHasObjects(const store::ReadTxn& txn, const Tables& t, std::string_view bucket);

}  // namespace annex::objectstore
