#pragma once
// The lifecycle runner: applies every repository's lifecycle policy, as ECR
// does once a day. The platform scheduler fires it (rate(1 hour), see
// RegisterLifecycleSchedule); each pass reads each repository's images,
// evaluates its policy (lifecycle_policy.h) and deletes the manifests — and
// with them their tags — that expire. The garbage collector frees the blobs
// afterwards. Images that an index (manifest list) in the repository lists
// are left alone, as ECR leaves them: the index must go first.
//
// Blocking (store writes): run from the scheduler's thread or the blocking pool.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "services/registry/lifecycle_policy.h"
#include "services/registry/registry.h"

namespace annex::registry {

// The images of `repo` as the policy evaluation sees them (index children left out).
Result<std::vector<LifecycleImage>> LifecycleCandidates(const RegistryStore& store, std::string_view account,
                                                        std::string_view repo);

// What `policy` would expire in `repo` at `now_ms`.
Result<std::vector<LifecycleExpiry>> PreviewLifecycle(const RegistryStore& store, std::string_view account,
                                                      std::string_view repo, const LifecyclePolicy& policy,
                                                      int64_t now_ms);

struct LifecycleRunStats {
  uint64_t repositories = 0;     // with a policy, evaluated
  uint64_t images_expired = 0;
};

// One pass over the repositories of `accounts`. A repository whose pass
// fails is logged and skipped; the others still run.
Result<LifecycleRunStats> RunLifecyclePolicies(RegistryStore& store, const std::vector<std::string>& accounts,
                                               int64_t now_ms);

// When the runner last evaluated the repository's policy (GetLifecyclePolicy's
// lastEvaluatedAt), in this process's life; nullopt before the first pass.
std::optional<int64_t> LastLifecycleEvaluation(std::string_view account, std::string_view repo);

// Registers the runner with env.scheduler (no-op without one).
Status RegisterLifecycleSchedule(const std::shared_ptr<Registry>& registry);

}  // namespace annex::registry
