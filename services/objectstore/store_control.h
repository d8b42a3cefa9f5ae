#pragma once
// What the appliance itself does with the object store outside S3 requests:
// the sync agent's feed of changed buckets, and the control plane's
// desired-state commands (create or delete a bucket), applied idempotently,
// and what the store holds, for the agent's usage records.
// Same rules as the S3 API (bucket names, ownership, empty-only deletes).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/service/resource_feed.h"
#include "appliance/service/service_control.h"

namespace annex::objectstore {

struct BucketSummary {
  std::string name;
  std::string owner_id;
  std::string owner_name;
  std::string region;
  std::string acl;  // "private" | "public-read"
  int64_t created_ms = 0;
};

struct StoredTotals {
  uint64_t objects = 0;
  uint64_t bytes = 0;  // of object data
};

class StoreControl {
 public:
  virtual ~StoreControl() = default;
  // What every bucket holds together, now.
  virtual StoredTotals Stored() = 0;
  // Buckets changed after `cursor` of the store's resource feed (0: every
  // bucket), at most `max`, oldest change first; `bucket` is empty for a deleted one.
  struct BucketChange {
    service::FeedEntry entry;
    std::optional<BucketSummary> bucket;
  };
  struct BucketChanges {
    std::vector<BucketChange> changes;
    uint64_t cursor = 0;
    bool more = false;
  };
  virtual Result<BucketChanges> ChangesSince(uint64_t cursor, size_t max) = 0;
  // True if created, false if the owner already had it; AlreadyExists if
  // another account owns the name; InvalidArgument for a bad name.
  virtual Result<bool> CreateBucket(std::string_view name, std::string_view owner_id, std::string_view owner_name) = 0;
  // True if deleted, false if there was no such bucket; FailedPrecondition
  // if it holds objects or unfinished uploads.
  virtual Result<bool> DeleteBucket(std::string_view name) = 0;
};

class ObjectStore;
// For NewObjectStoreService; valid while `store` lives.
std::unique_ptr<StoreControl> NewStoreControl(ObjectStore& store);

// The object store's face toward the control plane (service_control.h):
// buckets as resources, CreateBucket/DeleteBucket commands applied as the
// account `owner_id` (the appliance root), the store's totals as gauges.
// Valid while the store behind `store` lives.
std::unique_ptr<service::ServiceControl> NewBucketControl(std::unique_ptr<StoreControl> store, std::string owner_id);

}  // namespace annex::objectstore
