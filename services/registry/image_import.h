#pragma once
// Offline image import: the images of an archive on the appliance's disk
// (`docker save`, `podman save`, skopeo's docker-archive, an OCI image
// layout as a tar; gzip'd or not) stored in the registry as if pushed.
//
// Blobs go through the registry store the way a push does — layers as
// uploads, hashed as they stream and published only under the digest they
// hash to — and manifests are written last, so a refused archive (corrupt,
// truncated, a digest mismatch, a missing layer, an entry escaping the
// archive) leaves no image behind: at worst blobs no manifest references,
// which the garbage collector reclaims. docker-archive images are stored
// with an OCI manifest over their layers and config as they are in the
// archive, so the image id stays the same.
//
// Images are named by the archive (RepoTags, an OCI layout's ref.name
// annotation; registry hosts dropped) unless the caller names the
// repository. Missing repositories are created (tag mutability MUTABLE).
//
// Blocks for as long as the import takes: run it on the blocking pool.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "services/registry/image_archive_reader.h"
#include "services/registry/registry.h"

namespace annex::registry {

struct ImportedImage {
  std::string repository;
  std::string tag;  // empty: stored untagged (the child of an imported index)
  std::string digest;
  std::string media_type;
  uint64_t size = 0;  // config and layers, as ECR's imageSizeInBytes
};

// Bytes of the archive file streamed into the store so far, of `total`
// (its size); the first pass, which only plans, is not reported.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct ImportOptions {
  // "name" or "name:tag": every image goes to this repository (with this
  // tag); needed when the archive names no repository (an OCI layout
  // tagged "v1" only).
  std::string repository;
  ProgressFn progress;
  // Asked for each repository before anything is stored (`exists`: whether
  // it must be created); an error refuses the import with it.
  std::function<Status(const std::string& repository, bool exists)> authorize;
  ArchiveLimits limits;
};

// Imports the archive at `path` into `account`'s registry. InvalidArgument
// (with the reason) for an archive that cannot be imported; the
// authorizer's or the store's error otherwise.
Result<std::vector<ImportedImage>> ImportArchive(Registry& registry, std::string_view account, const std::string& path,
                                                 const ImportOptions& options);

// The same with only a repository override (empty: the archive's names).
Result<std::vector<ImportedImage>> ImportArchive(Registry& registry, std::string_view account, const std::string& path,
                                                 std::string_view repository, ProgressFn progress);

}  // namespace annex::registry
