#include "services/objectstore/bucket_policy_cache.h"

#include <cstdlib>
#include <mutex>

#include "appliance/core/log.h"
#include "appliance/os/random.h"
#include "services/objectstore/bucket_policy.h"

namespace annex::objectstore {

Result<std::shared_ptr<const CompiledBucketPolicy>> BucketPolicyCache::For(const BucketRecord& bucket) {
  if (!bucket.has_policy()) return std::shared_ptr<const CompiledBucketPolicy>();
  {
    std::shared_lock lock(mu_);
    if (auto it = compiled_.find(bucket.policy_id); it != compiled_.end()) return it->second;
  }
  // Compiled outside the lock: two first requests may both compile, and
  // both results are the same.
  Result<policy::Policy> parsed = policy::ParsePolicy(bucket.policy, policy::PolicyKind::kResource);
  if (!parsed.ok()) {
    log::Error("objectstore: a stored bucket policy does not compile", {{"error", parsed.status().ToString()}});
    return Status::Internal("stored bucket policy does not compile: " + parsed.status().message());
  }
  auto compiled = std::make_shared<CompiledBucketPolicy>();
  compiled->is_public = IsPublicPolicy(*parsed);
  compiled->policy = std::move(*parsed);
  std::unique_lock lock(mu_);
  return compiled_.try_emplace(bucket.policy_id, std::move(compiled)).first->second;
}

void BucketPolicyCache::Remember(uint64_t policy_id, std::shared_ptr<const CompiledBucketPolicy> compiled) {
  std::unique_lock lock(mu_);
  compiled_[policy_id] = std::move(compiled);
}

void BucketPolicyCache::Forget(uint64_t policy_id) {
  if (policy_id == 0) return;
  std::unique_lock lock(mu_);
  compiled_.erase(policy_id);
}

uint64_t NewPolicyId() {
  uint64_t id = std::strtoull(os::RandomHex(8).c_str(), nullptr, 16);
  return id == 0 ? 1 : id;
}

}  // namespace annex::objectstore
