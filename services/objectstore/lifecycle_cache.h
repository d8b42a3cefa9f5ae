#pragma once
// LifecycleCache: each stored lifecycle configuration parsed once, not on
// every GET, HEAD and PUT that may report x-amz-expiration. Keyed by the
// configuration's stored text (BucketRecord::lifecycle), so a record read
// in any transaction finds the form parsed from exactly its document, and a
// replaced configuration is never served from a stale entry; the entries of
// replaced and deleted configurations are dropped (Forget) so the cache
// holds about one entry per configured bucket.
//
// Thread-safe.

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "appliance/http/headers.h"
#include "services/objectstore/lifecycle_config.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

class LifecycleCache {
 public:
  // The configuration of `bucket`, parsed on first use; null when it has
  // none, or when what it stored no longer parses (it then expires nothing
  // on a response, as ever).
  std::shared_ptr<const LifecycleConfiguration> For(const BucketRecord& bucket);

  // Drops the entry of a configuration replaced or deleted (with its bucket).
  void Forget(const std::string& stored);

 private:
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const LifecycleConfiguration>> parsed_;
};

// Sets x-amz-expiration on a response about `object` when the bucket's
// rules will expire it.
void AddExpirationHeader(LifecycleCache& cache, const BucketRecord& bucket, const ObjectRecord& object,
                         http::Headers& headers);

}  // namespace annex::objectstore
