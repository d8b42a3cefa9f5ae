#pragma once
// DistributionPath: which /v2/ API a request path addresses. Repository
// names may contain slashes (team/app), so the path is read from the
// right: …/blobs/uploads/<uuid>, …/blobs/<digest>, …/manifests/<ref>,
// …/tags/list; what is left is the name. Each segment is percent-decoded
// on its own, so an encoded '/' can never split or join names.
//
// Also the validation rules the API applies to names, tags and
// references, as ECR states them.

#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::registry {

enum class DistributionRoute {
  kBase,        // /v2/
  kCatalog,     // /v2/_catalog
  kTags,        // /v2/<name>/tags/list
  kManifest,    // /v2/<name>/manifests/<reference>
  kBlob,        // /v2/<name>/blobs/<digest>
  kUploads,     // /v2/<name>/blobs/uploads/ (a new upload)
  kUpload,      // /v2/<name>/blobs/uploads/<uuid>
};

struct DistributionPath {
  DistributionRoute route = DistributionRoute::kBase;
  std::string name;       // the repository; empty for kBase and kCatalog
  std::string reference;  // tag or digest, blob digest, or upload uuid
};

// Parses a request's raw (still percent-encoded) path. NAME_INVALID for a
// bad repository name, NOT_FOUND-style UNSUPPORTED (404) for a path that
// is no API; the reference is not validated here.
Result<DistributionPath> ParseDistributionPath(std::string_view raw_path);

// ECR's repository name rule: 2–256 characters of
// (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*
bool IsValidRepositoryName(std::string_view name);
// Upload ids the store hands out: 1–128 of [0-9a-zA-Z_-].
bool IsValidUploadId(std::string_view uuid);

}  // namespace annex::registry
