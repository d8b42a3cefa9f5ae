#pragma once
// SimulatePrincipalPolicy and SimulateCustomPolicy: the IAM policy
// simulator, answering with the same evaluation the live authorizer uses
// (appliance/policy) over the same compiled policies (a user's with its
// groups', a group's, a role's; its permissions boundary), so a simulated
// decision is the decision a real request with that context gets.
//
// The simulated caller knows what the appliance itself would add to a live
// request about it — aws:username, aws:userid, aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:CurrentTime, aws:EpochTime,
// aws:MultiFactorAuthPresent (false) — and everything else (aws:SourceIp,
// s3:prefix, …) comes from ContextEntries, as in AWS.

#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/query.h"
#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"
#include "appliance/os/clock.h"

namespace annex::iam {

bool IsSimulateAction(std::string_view action);

Result<std::string> RunSimulateAction(std::string_view action, const http::QueryParams& params,
                                      const std::string& account, const std::string& request_id,
                                      const IdentityStore& identities, const PolicyStore& policies,
                                      const os::Clock& clock);

}  // namespace annex::iam
