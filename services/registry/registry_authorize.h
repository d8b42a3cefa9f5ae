#pragma once
// AuthorizeRegistry: who may do what in a registry, one rule for the ECR
// JSON API, the /v2/ API and image import/export alike — as S3 decides it
// for buckets (services/objectstore/s3_authorize.cc):
//   - the registry's own root is bound by nothing but the repository
//     policy's explicit Denies, and may always read, replace and delete the
//     policy itself, so it can never lock itself out;
//   - everyone else as the platform Authorizer decides from their identity
//     policies and the repository policy (either suffices within the
//     account, both are needed across accounts, a Deny wins).
// Each API words the denial in its own error (AccessDeniedException, DENIED).

#include <string>
#include <string_view>

#include "appliance/core/status.h"
#include "appliance/service/request_context.h"
#include "services/registry/registry.h"

namespace annex::registry {

struct RegistryAccess {
  std::string action;    // "ecr:BatchGetImage"
  std::string resource;  // a repository's ARN, or "*"
  std::string account;   // the registry (account) acted in
  // The repository's record when it exists: it brings the repository policy.
  const RepositoryRecord* repository = nullptr;
};

// OK; PermissionDenied with AWS's denial message; Internal when a stored
// repository policy no longer compiles (it must neither grant nor deny silently).
Status AuthorizeRegistry(const Registry& registry, const service::RequestContext& ctx, const RegistryAccess& access);

// The actions the root may always take on its own repositories (lock-out protection).
bool IsPolicyManagement(std::string_view action);

}  // namespace annex::registry
