#pragma once
// IamService: the IAM Query API (Action=CreateUser&…, XML responses) for the
// users and access keys of the caller's account. Each request is validated
// (iam_params.h), then checked against the fixed access rule that stands in
// for policies until they exist (iam_access.h), and only then acted on.

#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/service/service.h"

namespace annex::iam {

std::unique_ptr<service::Service> NewIamService(IdentityStore& identities);

}  // namespace annex::iam
