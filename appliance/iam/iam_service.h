#pragma once
// IamService: the IAM Query API (Action=CreateUser&…, XML responses) for the
// users and access keys of the caller's account. Each request is validated
// (iam_params.h), then checked against the fixed access rule that stands in
// for policies until they exist (iam_access.h), and only then acted on.

#include <array>
#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/service/service.h"

namespace annex::iam {

// The identity store's error codes, with IAM's HTTP statuses.
inline constexpr std::array<http::ErrorCodeStatus, 4> kIamErrors = {{
    {"DeleteConflict", 409},
    {"EntityAlreadyExists", 409},
    {"LimitExceeded", 409},
    {"NoSuchEntity", 404},
}};

std::unique_ptr<service::Service> NewIamService(IdentityStore& identities);

}  // namespace annex::iam
