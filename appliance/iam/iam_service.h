#pragma once
// IamService: the IAM Query API (Action=CreateUser&…, XML responses) for the
// users, access keys and policies of the caller's account. Each request is
// validated (iam_params.h), then authorized — the root always, users by
// their IAM policies (iam_access.h) — and only then acted on.

#include <array>
#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"
#include "appliance/service/authorizer.h"
#include "appliance/service/service.h"

namespace annex::iam {

// The identity store's error codes, with IAM's HTTP statuses.
inline constexpr std::array<http::ErrorCodeStatus, 6> kIamErrors = {{
    {"DeleteConflict", 409},
    {"EntityAlreadyExists", 409},
    {"InvalidInput", 400},
    {"LimitExceeded", 409},
    {"MalformedPolicyDocument", 400},
    {"NoSuchEntity", 404},
}};

std::unique_ptr<service::Service> NewIamService(IdentityStore& identities, PolicyStore& policies,
                                                const service::Authorizer* authorizer);

}  // namespace annex::iam
