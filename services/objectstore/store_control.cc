#include "services/objectstore/store_control.h"

#include "appliance/core/strings.h"
#include "services/objectstore/acl.h"
#include "services/objectstore/bucket_name.h"
#include "services/objectstore/metadata_store.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_store.h"

namespace annex::objectstore {
namespace {

class StoreControlImpl final : public StoreControl {
 public:
  explicit StoreControlImpl(ObjectStore& store) : store_(store) {}

  StoredTotals Stored() override { return {store_.meta().object_count(), store_.meta().byte_count()}; }

  Result<BucketChanges> ChangesSince(uint64_t cursor, size_t max) override {
    const Tables& t = store_.meta().tables();
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store_.meta().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(service::ResourceFeed::Page page, t.resources->Since(txn, cursor, max));
    BucketChanges out;
    out.cursor = page.cursor;
    out.more = page.more;
    out.changes.reserve(page.entries.size());
    for (auto& entry : page.entries) {
      BucketChange change{std::move(entry), std::nullopt};
      if (!change.entry.deleted) {
        ANNEX_ASSIGN_OR_RETURN(std::optional<BucketRecord> b, GetBucket(txn, t, change.entry.id));
        if (!b) return Status::Corruption("the resource feed lists bucket " + change.entry.id + ", which is absent");
        change.bucket = BucketSummary{change.entry.id, b->owner_id, b->owner_name, b->region,
                                      HasAllUsersRead(b->acl) && AclsEnabled(*b) ? "public-read" : "private", b->created_ms};
      }
      out.changes.push_back(std::move(change));
    }
    return out;
  }

  Result<bool> CreateBucket(std::string_view name, std::string_view owner_id, std::string_view owner_name) override {
    ANNEX_RETURN_IF_ERROR(ValidateBucketName(name));
    BucketRecord record;
    record.owner_id = std::string(owner_id);
    record.owner_name = std::string(owner_name);
    record.created_ms = store_.NowMillis();
    record.region = store_.options().region;
    const Tables& t = store_.meta().tables();
    bool created = false;
    ANNEX_RETURN_IF_ERROR(store_.meta().CommitBlocking([&](store::WriteTxn& txn, StatsDelta&) -> Status {
      ANNEX_ASSIGN_OR_RETURN(auto existing, GetBucket(txn, t, name));
      if (existing) {
        if (existing->owner_id == owner_id) return Status::OK();
        return Status::AlreadyExists("bucket " + std::string(name) + " belongs to another account");
      }
      created = true;
      return PutBucket(txn, t, name, record);
    }));
    return created;
  }

  Result<bool> DeleteBucket(std::string_view name) override {
    const Tables& t = store_.meta().tables();
    bool deleted = false;
    BucketRecord removed;
    ANNEX_RETURN_IF_ERROR(store_.meta().CommitBlocking([&](store::WriteTxn& txn, StatsDelta&) -> Status {
      ANNEX_ASSIGN_OR_RETURN(auto existing, GetBucket(txn, t, name));
      if (!existing) return Status::OK();
      removed = *existing;
      ANNEX_ASSIGN_OR_RETURN(bool has_objects, BucketHasObjects(txn, t, name));
      ANNEX_ASSIGN_OR_RETURN(store::Cursor uploads, txn.OpenCursor(t.uploads));
      std::string prefix = BucketKeyPrefix(name);
      ANNEX_RETURN_IF_ERROR(uploads.Seek(prefix));
      if (has_objects || (uploads.Valid() && StartsWith(uploads.key(), prefix))) {
        return Status::FailedPrecondition("bucket " + std::string(name) + " is not empty");
      }
      deleted = true;
      return RemoveBucket(txn, t, name);
    }));
    if (deleted) store_.ForgetBucket(removed);
    return deleted;
  }

 private:
  ObjectStore& store_;
};

}  // namespace

std::unique_ptr<StoreControl> NewStoreControl(ObjectStore& store) { return std::make_unique<StoreControlImpl>(store); }

}  // namespace annex::objectstore
