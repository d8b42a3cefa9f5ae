#pragma once
// ECS resource tags as the API takes and shows them: [{key, value}], at most
// 50, keys of 1-128 and values of 0-256 characters.

#include "appliance/core/result.h"
#include "appliance/service/json_params.h"

namespace annex::containers {

// The `member` tag list of a request (an empty array when absent);
// InvalidParameterException for a malformed one.
Result<service::Json> ParseTags(const service::JsonParams& params, std::string_view member = "tags");

}  // namespace annex::containers
