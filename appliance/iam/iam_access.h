#pragma once
// Who may do what through the IAM API:
//
//   - The account root may do everything in its account (identity
//     policies do not bind it).
//   - A user may do what its IAM policies allow: `iam:<Action>` on the
//     resource the action is about (a user's ARN, a policy's ARN, or "*"
//     for account-wide listings), as AWS's authorization reference lists.
//     Without policies, nothing — not even reading itself, as in AWS.
//   - Nobody acts in another account: every request acts in the caller's
//     own account, and no parameter can name another.
//
// Thread-safe.

#include <string_view>

#include "appliance/auth/principal.h"
#include "appliance/core/status.h"
#include "appliance/http/query.h"
#include "appliance/iam/identity_store.h"
#include "appliance/service/authorizer.h"

namespace annex::iam {

// The identity `caller` itself is: the root of its account, or its user.
Identity CallerIdentity(const auth::Principal& caller);

// The identity a validated request (ValidateIamParams) of `action` acts on:
// the user named by UserName in the caller's account, or, when UserName is
// absent, the caller itself. ListUsers acts on the account (its root).
Identity TargetIdentity(const auth::Principal& caller, std::string_view action, const http::QueryParams& params);

// OK when the request's caller may perform `action` on its resource;
// otherwise AccessDenied (403) worded as IAM's: "User: ARN is not
// authorized to perform: iam:ACTION on resource: ARN because no
// identity-based policy allows the iam:ACTION action". Without an
// authorizer only the root may act.
Status AuthorizeIamAction(const service::RequestContext& ctx, const service::Authorizer* authorizer,
                          std::string_view action, const Identity& target, const http::QueryParams& params);

// The resource ARN `action` is authorized on, for policies, messages and logs.
std::string IamResourceArn(std::string_view action, const Identity& target, const http::QueryParams& params);

}  // namespace annex::iam
