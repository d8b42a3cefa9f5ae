#pragma once
// IAM Query parameter validation, done as IAM does it: before anything else
// runs, every parameter an action takes is checked against the constraints
// of IAM's model (botocore data/iam/2010-05-08/service-2.json:
// userNameType, existingUserNameType, accessKeyIdType, statusType, pathType,
// pathPrefixType, markerType, maxItemsType, arnType, tagKeyType, tagValueType).
//
// A parameter that is present but empty is judged like any other value (and
// fails min-length 1); it never counts as absent, so it can never make a
// handler fall back to a default principal.
//
// Pure functions; thread-safe.

#include <string_view>

#include "appliance/core/status.h"
#include "appliance/http/query.h"

namespace annex::iam {

// Whether `action` is an IAM action this appliance implements.
bool IsSupportedIamAction(std::string_view action);

// OK, or ValidationError naming each bad parameter in IAM's words:
//   "1 validation error detected: Value at 'userName' failed to satisfy
//    constraint: Member must have length greater than or equal to 1"
// Offending values are not echoed (they may hold any bytes). A parameter the
// action takes that is given more than once is refused too: which copy a
// handler would read must never be a question. Parameters the action does
// not take are ignored, as IAM ignores them.
Status ValidateIamParams(std::string_view action, const http::QueryParams& params);

// The same for STS's actions (GetCallerIdentity, AssumeRole, GetSessionToken).
bool IsSupportedStsAction(std::string_view action);
Status ValidateStsParams(std::string_view action, const http::QueryParams& params);

}  // namespace annex::iam
