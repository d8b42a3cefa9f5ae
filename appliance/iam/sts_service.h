#pragma once
// StsService: the STS Query API (Version=2011-06-15): GetCallerIdentity,
// AssumeRole and GetSessionToken. Their credentials (ASIA… key, secret,
// session token, expiration) sign requests to every service until they
// expire; the SigV4 verifier checks the token (auth/credentials.h).
//
// AssumeRole is authorized as AWS does: the role's trust policy is the
// resource policy of sts:AssumeRole on the role, evaluated with the
// caller's identity policies by the platform authorizer (within the
// account, a trust policy naming the caller suffices; naming the account
// delegates to the caller's policies; across accounts both must allow),
// with sts:ExternalId, sts:RoleSessionName and aws:RequestTag/* keys.
// Session tags need sts:TagSession too. An account root may not assume
// roles; a role session may (role chaining, at most one hour).

#include <memory>

#include "appliance/iam/identity_store.h"
#include "appliance/iam/role_sessions.h"
#include "appliance/service/authorizer.h"
#include "appliance/service/service.h"

namespace annex::iam {

std::unique_ptr<service::Service> NewStsService(IdentityStore& identities, RoleSessions& sessions,
                                                const service::Authorizer* authorizer);

}  // namespace annex::iam
