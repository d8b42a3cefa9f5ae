#pragma once
// S3 tags: the Tagging document of Put*Tagging, the x-amz-tagging header of
// writes, and S3's rules for both (InvalidTag): at most 10 tags on an object
// and 50 on a bucket, keys of 1–128 and values of 0–256 characters drawn
// from letters, digits, spaces and `+ - = . _ : / @`, no key twice, no
// `aws:` prefix.

#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

inline constexpr size_t kMaxObjectTags = 10;
inline constexpr size_t kMaxBucketTags = 50;

// A <Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging> body.
Result<TagSet> ParseTaggingDocument(std::string_view body, size_t max_tags);

// x-amz-tagging: "k1=v1&k2=v2", URL-encoded.
Result<TagSet> ParseTaggingHeader(std::string_view header);

// The Tagging document of Get*Tagging.
std::string RenderTagging(const TagSet& tags);

}  // namespace annex::objectstore
