#pragma once
// ArchivePlan: what an image archive holds, worked out from its table of
// contents and its small JSON documents before a layer byte is stored — the
// blobs to store (each once) and the manifests to write after them, with
// the names the archive gives the images.
//
// Two layouts are understood:
//   docker-archive  `docker save`, `podman save`, skopeo's docker-archive:
//                   manifest.json [{Config, RepoTags, Layers}], the config
//                   as a file, each layer an (uncompressed, rarely gzip'd)
//                   tar. The registry stores an OCI manifest for it, written
//                   once the layers' digests are known (SynthesizeManifest).
//   OCI layout      oci-layout, index.json, blobs/sha256/<hex> — also what
//                   docker 25+ saves (with a manifest.json beside it, whose
//                   RepoTags name the images). Manifests are kept byte for
//                   byte, so the digests stay what they were.
//
// Planning only reads: it refuses (InvalidArgument) documents that do not
// parse, blobs the archive lacks, sizes or digests of in-memory documents
// that disagree with what names them, and names that do not resolve.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::registry {

// One entry of the archive as the first pass saw it. Links are kept as
// their (normalized, archive-relative) target and resolved lexically.
struct ArchiveEntry {
  enum class Kind { kFile, kSymlink, kHardlink };
  Kind kind = Kind::kFile;
  uint64_t size = 0;
  std::string target;                  // links: the entry they stand for
  std::optional<std::string> content;  // small JSON documents, read in the first pass
};

// The archive's table of contents: normalized entry name → entry.
using ArchiveContents = std::map<std::string, ArchiveEntry>;

// `name` made archive-relative: "./" and empty components dropped, ".."
// applied. InvalidArgument for an absolute name or one that climbs out of
// the archive. The archive's root itself is "".
Result<std::string> NormalizeEntryName(std::string_view name);

// The regular file `name` stands for, links followed (a few hops at most).
// NotFound names the missing entry.
Result<std::string> ResolveEntry(const ArchiveContents& contents, std::string_view name);

// A name the archive gives an image. `repository` is empty when the archive
// names only a tag (an OCI layout's "org.opencontainers.image.ref.name": "v1").
struct ImageReference {
  std::string repository;
  std::string tag;
};

// "registry.example:5000/team/app:v1" → {"team/app", "v1"}: the registry
// host is dropped (an image is named after the appliance's registry once
// imported), and docker.io's implied "library/" with it; no tag means
// "latest"; a bare word is taken as a tag. A digest reference ("app@sha256:…")
// names no tag: InvalidArgument.
Result<ImageReference> ParseImageReference(std::string_view reference);

// A blob the import stores: an image's config or a layer.
struct ArchiveBlob {
  std::string entry;       // the archive entry holding its bytes (links resolved)
  std::string digest;      // "sha256:…"; empty for a docker layer until streamed
  std::string diff_id;     // docker layers: the config's rootfs.diff_ids entry, checked against the tar
  std::string media_type;  // docker layers: set once their content shows whether they are gzip'd
  uint64_t size = 0;
  std::optional<std::string> content;  // small blobs (configs) already in memory
};

struct ArchiveManifest {
  std::string media_type;
  std::string bytes;   // docker images: empty until SynthesizeManifest
  std::string digest;  // likewise
  std::vector<ImageReference> references;  // empty: an index's child, stored untagged
  std::vector<size_t> blobs;               // into ArchivePlan::blobs: config, then layers
  std::vector<size_t> children;            // indexes: into ArchivePlan::manifests
  bool synthesized = false;                // a docker-archive image: the registry writes its manifest
};

enum class ArchiveFormat { kDockerArchive, kOciLayout };

struct ArchivePlan {
  ArchiveFormat format = ArchiveFormat::kDockerArchive;
  std::vector<ArchiveBlob> blobs;          // each distinct entry once
  std::vector<ArchiveManifest> manifests;  // in storing order: children before their index
};

// The plan for `contents`, or why the archive cannot be imported.
Result<ArchivePlan> PlanArchive(const ArchiveContents& contents);

// The OCI image manifest of a docker-archive image whose blobs were all
// streamed (every digest and media type set): fills bytes and digest.
void SynthesizeManifest(const std::vector<ArchiveBlob>& blobs, ArchiveManifest& manifest);

// "blobs/sha256/<hex>" and "<hex>.json" name their content's digest; the hex, or nullopt.
std::optional<std::string> DigestHexFromName(std::string_view entry);

}  // namespace annex::registry
