#pragma once
// Verifying an image against its signed manifest (`<image>.manifest` and
// `<image>.manifest.sig`): the signature over the manifest's raw bytes first,
// with each trusted key; only then is the manifest parsed, the image's size
// checked, and its contents hashed.

#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "provisioning/image/manifest.h"
#include "provisioning/image/progress.h"

namespace annex::image {

// Public keys (PEM). Each path is a key file or a directory of *.pub files.
Result<std::vector<std::string>> LoadTrustedKeys(const std::vector<std::string>& paths);

// Signature, manifest and size checks: cheap, run before anything is written.
// The manifest is `manifest_path` (default: <image>.manifest), its signature
// <manifest>.sig. An image on a block device (a USB stick, a second disk) may
// be larger than the manifest says; a file must match exactly.
Result<Manifest> VerifyManifest(const std::string& image_path, const std::vector<std::string>& trusted_keys,
                                const std::string& manifest_path = "");

// Checks every byte of the image: with a block map, each data extent's hash
// and that everything else is zero (holes are not even read); without one,
// the whole image's hash and each partition artifact's, in one pass.
Status VerifyImageContents(const std::string& image_path, const Manifest& manifest, Progress& progress);

// Checks [0, disk.size) of `fd` against the disk artifact's extents (data
// hashes, zeros elsewhere). `what` names the file in errors.
Status VerifyExtents(int fd, const Artifact& disk, const std::string& what, Progress& progress);

// The gaps between a block map's extents.
std::vector<Extent> ZeroGaps(const Artifact& disk);

}  // namespace annex::image
