#pragma once
// Manifest: what the registry needs to know of an image manifest or an index
// (manifest list) it stores — its media type, the blobs it references and
// the manifests an index points to. Docker schema 2 manifests and manifest
// lists, OCI image manifests and indexes are accepted; schema 1 is refused
// (MANIFEST_INVALID), as ECR does for new pushes.
//
// Parsing is strict about what the registry relies on (digests, sizes,
// media types) and lenient about the rest, which clients own (annotations,
// platform fields). The bytes themselves are stored as sent: a manifest's
// digest is the sha256 of exactly those bytes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::registry {

inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

// ECR's limit on a manifest's size.
inline constexpr size_t kMaxManifestBytes = size_t{4} << 20;

// A content descriptor: what a manifest says of a blob or child manifest.
struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::string platform_os;            // index entries only
  std::string platform_architecture;  // index entries only
  std::string platform_variant;
};

struct Manifest {
  std::string media_type;  // one of the four above
  bool is_index() const { return media_type == kDockerManifestList || media_type == kOciIndex; }
  Descriptor config;               // image manifests
  std::vector<Descriptor> layers;  // image manifests
  std::vector<Descriptor> manifests;  // indexes: the child manifests
  // The subject (OCI 1.1 referrers): recorded, not required to exist.
  std::string subject_digest;
  std::string artifact_type;
};

// Parses `bytes`. `content_type` is the request's Content-Type (may be
// empty); the document's own mediaType wins when both are present and they
// must then agree. Errors are MANIFEST_INVALID with the reason.
Result<Manifest> ParseManifest(std::string_view bytes, std::string_view content_type);

// Every blob the manifest references (config and layers), without duplicates.
std::vector<std::string> ReferencedBlobs(const Manifest& manifest);

// Compressed size of the image: the config and layers (ECR's imageSizeInBytes).
uint64_t ImageSize(const Manifest& manifest);

}  // namespace annex::registry
