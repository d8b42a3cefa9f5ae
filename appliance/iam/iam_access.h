#pragma once
// Who may do what through the IAM API, until IAM policies exist
// (docs/iam-coverage.md):
//
//   - The account root may manage every user and access key of its account,
//     its own root keys included.
//   - A user may read itself (GetUser) and manage its own access keys
//     (Create/List/Update/DeleteAccessKey, naming itself or no one).
//   - Nothing else: no user may touch the root, another user, or anything
//     of another account. User management is the root's.
//
// Every request acts in the caller's own account; no parameter can name
// another account. Pure functions; thread-safe.

#include <string_view>

#include "appliance/auth/principal.h"
#include "appliance/core/status.h"
#include "appliance/http/query.h"
#include "appliance/iam/identity_store.h"

namespace annex::iam {

// The identity `caller` itself is: the root of its account, or its user.
Identity CallerIdentity(const auth::Principal& caller);

// The identity a validated request (ValidateIamParams) of `action` acts on:
// the user named by UserName in the caller's account, or, when UserName is
// absent, the caller itself. ListUsers acts on the account (its root).
Identity TargetIdentity(const auth::Principal& caller, std::string_view action, const http::QueryParams& params);

// OK when `caller` may perform `action` on `target`; otherwise AccessDenied
// (403) worded as IAM's: "User: ARN is not authorized to perform:
// iam:ACTION on resource: ARN".
Status AuthorizeIamAction(const auth::Principal& caller, std::string_view action, const Identity& target);

// The resource ARN `action` on `target` is about, for messages and logs.
std::string IamResourceArn(std::string_view action, const Identity& target);

}  // namespace annex::iam
