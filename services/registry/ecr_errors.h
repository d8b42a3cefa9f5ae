#pragma once
// The ECR API's error codes and their HTTP statuses (the service model's
// exceptions). The platform's own (authentication, throttling, internal
// errors) are in appliance/http/api_error.cc.

#include <array>

#include "appliance/http/api_error.h"

namespace annex::registry {

inline constexpr auto kEcrErrors = std::to_array<http::ErrorCodeStatus>({
    {"EmptyUploadException", 400},
    {"ImageAlreadyExistsException", 400},
    {"ImageDigestDoesNotMatchException", 400},
    {"ImageNotFoundException", 400},
    {"ImageTagAlreadyExistsException", 400},
    {"InvalidLayerException", 400},
    {"InvalidLayerPartException", 400},
    {"InvalidParameterException", 400},
    {"InvalidTagParameterException", 400},
    {"LayerAlreadyExistsException", 400},
    {"LayerInaccessibleException", 400},
    {"LayerPartTooSmallException", 400},
    {"LayersNotFoundException", 400},
    {"KmsException", 400},
    {"LifecyclePolicyNotFoundException", 400},
    {"LifecyclePolicyPreviewInProgressException", 400},
    {"LifecyclePolicyPreviewNotFoundException", 400},
    {"LimitExceededException", 400},
    {"ReferencedImagesNotFoundException", 400},
    {"RepositoryAlreadyExistsException", 400},
    {"RepositoryNotEmptyException", 400},
    {"RepositoryNotFoundException", 400},
    {"RepositoryPolicyNotFoundException", 400},
    {"SerializationException", 400},
    {"ServerException", 500},
    {"TooManyTagsException", 400},
    {"UnsupportedImageTypeException", 400},
    {"UploadNotFoundException", 400},
    {"ValidationException", 400},
    {"AccessDeniedException", 400},
});

}  // namespace annex::registry
