#include "services/objectstore/store_control.h"

#include "appliance/core/strings.h"
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

  Result<std::vector<BucketSummary>> ListBuckets() override {
    std::vector<BucketSummary> out;
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store_.meta().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(store_.meta().tables().buckets));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    while (c.Valid()) {
      ANNEX_ASSIGN_OR_RETURN(BucketRecord b, DecodeBucket(c.value()));
      out.push_back({std::string(c.key()), b.owner_id, b.owner_name, b.region,
                     b.acl == CannedAcl::kPublicRead ? "public-read" : "private", b.created_ms});
      ANNEX_RETURN_IF_ERROR(c.Next());
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
      return txn.Put(t.buckets, name, EncodeBucket(record));
    }));
    return created;
  }

  Result<bool> DeleteBucket(std::string_view name) override {
    const Tables& t = store_.meta().tables();
    bool deleted = false;
    ANNEX_RETURN_IF_ERROR(store_.meta().CommitBlocking([&](store::WriteTxn& txn, StatsDelta&) -> Status {
      ANNEX_ASSIGN_OR_RETURN(auto existing, GetBucket(txn, t, name));
      if (!existing) return Status::OK();
      ANNEX_ASSIGN_OR_RETURN(bool has_objects, BucketHasObjects(txn, t, name));
      ANNEX_ASSIGN_OR_RETURN(store::Cursor uploads, txn.OpenCursor(t.uploads));
      std::string prefix = BucketKeyPrefix(name);
      ANNEX_RETURN_IF_ERROR(uploads.Seek(prefix));
      if (has_objects || (uploads.Valid() && StartsWith(uploads.key(), prefix))) {
        return Status::FailedPrecondition("bucket " + std::string(name) + " is not empty");
      }
      deleted = true;
      return txn.Delete(t.buckets, name);
    }));
    return deleted;
  }

 private:
  ObjectStore& store_;
};

}  // namespace

std::unique_ptr<StoreControl> NewStoreControl(ObjectStore& store) { return std::make_unique<StoreControlImpl>(store); }

}  // namespace annex::objectstore
