#pragma once
// ObjectStore: the state every S3 handler shares — options, the metadata
// store, the data files, the compiled bucket policies and the parsed
// lifecycle configurations — and the startup
// sequence that opens them and removes what a crash left behind.
//
// Thread-safe (its parts are).

#include <memory>
#include <string>
#include <vector>

#include "appliance/http/exchange.h"
#include "appliance/os/blocking_pool.h"
#include "services/objectstore/bucket_policy_cache.h"
#include "services/objectstore/data_files.h"
#include "services/objectstore/key_ring.h"
#include "services/objectstore/lifecycle_cache.h"
#include "services/objectstore/metadata_store.h"
#include "services/objectstore/object_store_service.h"

namespace annex::objectstore {

class ObjectStore {
 public:
  // Opens meta/ and data files under options.data_dir, then cleans orphans.
  static Result<std::unique_ptr<ObjectStore>> Open(const ObjectStoreOptions& options);

  const ObjectStoreOptions& options() const { return options_; }
  MetadataStore& meta() { return *meta_; }
  DataFiles& files() { return *files_; }
  BucketPolicyCache& bucket_policies() { return bucket_policies_; }
  LifecycleCache& lifecycles() { return lifecycles_; }
  // Drops what the caches hold for a bucket removed for good: its compiled
  // policy and its parsed lifecycle configuration.
  void ForgetBucket(const BucketRecord& removed);
  const KeyRing& keys() const { return *keys_; }
  os::Clock& clock() { return *options_.clock; }
  int64_t NowMillis() const;
  int64_t NowNanos() const;

  // Removes data files that a committed change stopped referencing. Failures
  // only leave orphans, which the next startup removes, so they are logged.
  http::Task<void> RemoveDataFiles(os::BlockingPool& pool, std::vector<std::string> ids);

  void Stop() { meta_->Stop(); }

 private:
  explicit ObjectStore(const ObjectStoreOptions& options) : options_(options) {}
  Status CleanOrphans();

  ObjectStoreOptions options_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<DataFiles> files_;
  std::unique_ptr<KeyRing> keys_;
  BucketPolicyCache bucket_policies_;
  LifecycleCache lifecycles_;
};

}  // namespace annex::objectstore
