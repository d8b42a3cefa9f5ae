#pragma once
// The IAM Query API's policy actions: managed policies and their versions,
// and the attached and inline policies of users, groups and roles. Each takes validated
// parameters (iam_params.h) of a caller already allowed to act
// (iam_access.h) and answers IAM's XML, policy documents URL-encoded as IAM
// returns them.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/query.h"
#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"

namespace annex::iam {

bool IsPolicyAction(std::string_view action);
// For Attach/Detach/ListAttached/Put/Get/Delete/List{User,Group,Role}Polic…:
// whose policies the action is about.
std::optional<EntityType> EntityPolicyActionType(std::string_view action);

// The response body of `action` in `account`; `request_id` goes into its metadata.
Result<std::string> RunPolicyAction(std::string_view action, const http::QueryParams& params,
                                    const std::string& account, const std::string& request_id,
                                    IdentityStore& identities, PolicyStore& policies);

}  // namespace annex::iam
