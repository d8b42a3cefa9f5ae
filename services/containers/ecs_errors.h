#pragma once
// The ECS API's error codes and their HTTP statuses (the service model's
// exceptions). The platform's own (authentication, throttling, internal
// errors) are in appliance/http/api_error.cc.

#include <array>

#include "appliance/http/api_error.h"

namespace annex::containers {

inline constexpr auto kEcsErrors = std::to_array<http::ErrorCodeStatus>({
    {"AccessDeniedException", 400},
    {"AttributeLimitExceededException", 400},
    {"ClientException", 400},
    {"ClusterContainsContainerInstancesException", 400},
    {"ClusterContainsServicesException", 400},
    {"ClusterContainsTasksException", 400},
    {"ClusterNotFoundException", 400},
    {"ConflictException", 400},
    {"InvalidParameterException", 400},
    {"LimitExceededException", 400},
    {"PlatformTaskDefinitionIncompatibilityException", 400},
    {"PlatformUnknownException", 400},
    {"ResourceInUseException", 400},
    {"ResourceNotFoundException", 400},
    {"SerializationException", 400},
    {"ServerException", 500},
    {"ServiceNotActiveException", 400},
    {"ServiceNotFoundException", 400},
    {"UnsupportedFeatureException", 400},
    {"UpdateInProgressException", 400},
});

}  // namespace annex::containers
