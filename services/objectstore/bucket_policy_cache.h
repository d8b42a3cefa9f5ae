#pragma once
// BucketPolicyCache: each stored bucket policy compiled once, not per
// request. Keyed by the random id the policy got when it was stored
// (BucketRecord::policy_id), so a record read in any transaction finds the
// form compiled from exactly its document, and a replaced policy is never
// served from a stale entry.
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <unordered_map>

#include "appliance/core/result.h"
#include "appliance/policy/policy.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

struct CompiledBucketPolicy {
  policy::Policy policy;
  bool is_public = false;  // bucket_policy.h: IsPublicPolicy
};

class BucketPolicyCache {
 public:
  // The compiled policy of `bucket`, compiled on first use; null when it has
  // none. A stored document that no longer compiles is an internal error:
  // it must not silently grant or deny.
  Result<std::shared_ptr<const CompiledBucketPolicy>> For(const BucketRecord& bucket);

  // Keeps a policy compiled while it was stored, under its new id.
  void Remember(uint64_t policy_id, std::shared_ptr<const CompiledBucketPolicy> compiled);
  // Drops the entry of a policy replaced or deleted (with its bucket).
  void Forget(uint64_t policy_id);

 private:
  std::shared_mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<const CompiledBucketPolicy>> compiled_;
};

// A fresh, non-zero policy id.
uint64_t NewPolicyId();

}  // namespace annex::objectstore
