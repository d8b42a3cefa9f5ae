#pragma once
// CloudWatch Logs' error codes (botocore's logs model) with the HTTP statuses
// the service answers them with; the platform's (signatures, throttling,
// internal errors) are in appliance/http/api_error.cc.

#include <array>

#include "appliance/http/api_error.h"

namespace annex::logs {

inline constexpr auto kLogsErrors = std::to_array<http::ErrorCodeStatus>({
    {"AccessDeniedException", 400},
    {"DataAlreadyAcceptedException", 400},
    {"InvalidOperationException", 400},
    {"InvalidParameterException", 400},
    {"InvalidSequenceTokenException", 400},
    {"LimitExceededException", 400},
    {"OperationAbortedException", 400},
    {"ResourceAlreadyExistsException", 400, "The specified resource already exists."},
    {"ResourceNotFoundException", 400, "The specified resource does not exist."},
    {"SerializationException", 400},
    {"ServiceUnavailableException", 500},
    {"TooManyTagsException", 400},
    {"ValidationException", 400},
});

}  // namespace annex::logs
