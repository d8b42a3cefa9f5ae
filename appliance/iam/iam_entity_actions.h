#pragma once
// The IAM Query API's group and role actions: groups and their members,
// roles with their trust policies, and the permissions boundaries of users
// and roles. Like the policy actions (iam_policy_actions.h), each takes
// validated parameters of a caller already allowed to act and answers
// IAM's XML.

#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"
#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"

namespace annex::iam {

bool IsEntityAction(std::string_view action);

Result<std::string> RunEntityAction(std::string_view action, const http::QueryParams& params,
                                    const std::string& account, const std::string& request_id,
                                    IdentityStore& identities, PolicyStore& policies);

// <User> of GetUser, CreateUser and ListUsers, with its permissions boundary.
void AddUserXml(http::XmlNode node, const User& user, const std::optional<std::string>& boundary);

}  // namespace annex::iam
