#pragma once
// S3 general-purpose bucket naming rules.

#include <string_view>

#include "appliance/core/status.h"

namespace annex::objectstore {

// OK for a valid bucket name; InvalidBucketName otherwise: 3–63 characters of
// lower-case letters, digits, '.' and '-', starting and ending with a letter
// or digit, no "..", not shaped like an IPv4 address, no "xn--" / "sthree-"
// prefix and no "-s3alias" / "--ol-s3" suffix.
Status ValidateBucketName(std::string_view name);

}  // namespace annex::objectstore
