#pragma once
// What the ECR image operations share: image identifiers ({imageDigest,
// imageTag}) as requests give them, their resolution to a manifest, and
// the failure entries of the batch operations.

#include <optional>
#include <string>
#include <vector>

#include "services/registry/ecr_call.h"

namespace annex::registry {

struct ImageId {
  std::optional<std::string> digest;
  std::optional<std::string> tag;
};

inline constexpr size_t kMaxImageTag = 300;
inline constexpr size_t kMaxBatchImageIds = 100;

// The imageIds member (SerializationException for wrong types); an empty
// list when absent and !required.
Result<std::vector<ImageId>> ParseImageIds(const EcrCall& call, size_t min_items, size_t max_items);

Json ImageIdJson(const ImageId& id);
Json ImageIdJson(std::string_view digest, std::string_view tag);
Json ImageFailure(const ImageId& id, std::string_view code, std::string_view reason);

// Resolves `id` to the manifest it names. On failure, the ImageFailureCode
// and reason as BatchGetImage reports them (InvalidImageDigest,
// MissingDigestAndTag, ImageTagDoesNotMatchDigest, ImageNotFound).
struct Resolved {
  std::optional<ManifestRecord> manifest;
  std::string failure_code;
  std::string failure_reason;
};
Resolved ResolveImage(const EcrCall& call, const ImageId& id);

// "imageId {imageDigest:'…', imageTag:'…'}" as ECR's messages write it.
std::string DescribeImageId(const ImageId& id);

}  // namespace annex::registry
