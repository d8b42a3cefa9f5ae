#include "services/objectstore/lifecycle_cache.h"

#include <mutex>

namespace annex::objectstore {

std::shared_ptr<const LifecycleConfiguration> LifecycleCache::For(const BucketRecord& bucket) {
  if (bucket.lifecycle.empty()) return nullptr;
  {
    std::shared_lock lock(mu_);
    if (auto it = parsed_.find(bucket.lifecycle); it != parsed_.end()) return it->second;
  }
  // Parsed outside the lock: two first requests may both parse, and both
  // results are the same.
  Result<LifecycleConfiguration> config = ParseLifecycleConfiguration(bucket.lifecycle);
  std::shared_ptr<const LifecycleConfiguration> parsed;
  if (config.ok()) parsed = std::make_shared<const LifecycleConfiguration>(std::move(*config));
  std::unique_lock lock(mu_);
  return parsed_.try_emplace(bucket.lifecycle, std::move(parsed)).first->second;
}

void LifecycleCache::Forget(const std::string& stored) {
  if (stored.empty()) return;
  std::unique_lock lock(mu_);
  parsed_.erase(stored);
}

void AddExpirationHeader(LifecycleCache& cache, const BucketRecord& bucket, const ObjectRecord& object,
                         http::Headers& headers) {
  if (bucket.lifecycle.empty() || object.delete_marker) return;
  std::shared_ptr<const LifecycleConfiguration> config = cache.For(bucket);
  if (!config) return;
  std::string value = ExpirationHeader(*config, object);
  if (!value.empty()) headers.Set("x-amz-expiration", value);
}

}  // namespace annex::objectstore
