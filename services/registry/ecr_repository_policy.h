#pragma once
// Repository policies compiled once per distinct document, not per request:
// the cache is keyed by the policy text itself, so a replaced policy can
// never be served from a stale entry. Bounded; thread-safe.

#include <memory>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/policy/policy.h"

namespace annex::registry {

// ECR's limit on a repository policy (RepositoryPolicyText).
inline constexpr size_t kMaxRepositoryPolicyChars = 10240;

// The compiled form of `text`, a resource policy. InvalidParameterException
// (ECR's answer to SetRepositoryPolicy) when it does not parse or validate.
Result<std::shared_ptr<const policy::Policy>> CompileRepositoryPolicy(std::string_view text);

}  // namespace annex::registry
