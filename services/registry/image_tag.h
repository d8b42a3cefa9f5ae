#pragma once
// The one rule for image tags, checked by every path that sets one — the
// ECR API's PutImage, a /v2/ manifest PUT, an import's --repository
// NAME:TAG and an archive's RepoTags — so a tag set one way can always be
// pulled another: the distribution spec's [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
// (ECR's model allows 1–300 characters of anything; docker and podman
// cannot pull such tags, so they are refused up front.)

#include <string_view>

#include "appliance/core/status.h"

namespace annex::registry {

inline constexpr size_t kMaxImageTagChars = 128;

// True if `tag` matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
bool IsValidImageTag(std::string_view tag);

// OK, or InvalidParameterException naming `member` ("imageTag") — the ECR
// API's and the transfer API's answer; /v2/ answers TAG_INVALID instead.
Status ValidateImageTag(std::string_view tag, std::string_view member = "imageTag");

}  // namespace annex::registry
