#pragma once
// IamService: the IAM Query API (Action=CreateUser&…, XML responses) for the
// users and access keys of the caller's account. Policies come later; until
// then an account's users act as the account.

#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/service/service.h"

namespace annex::iam {

std::unique_ptr<service::Service> NewIamService(IdentityStore& identities);

}  // namespace annex::iam
