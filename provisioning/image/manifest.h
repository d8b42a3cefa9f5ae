#pragma once
// The image manifest: what an update image contains (version, artifacts and
// their SHA-256s) and which key signed it. The signature is detached and covers
// the exact bytes of EncodeManifest(), so encoding is canonical and parsing is
// strict: anything unexpected is refused rather than guessed at.
//
// Thread safety: plain values and functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::image {

// `offset` is the artifact's byte offset inside the image file for
// partition/file artifacts; 0 for whole files.
// A range of an artifact that holds data, relative to the artifact's start.
struct Extent {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string sha256;
};

struct Artifact {
  std::string name;
  std::string slot;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string sha256;  // 64 lower-case hex chars
  // Optional block map (the disk artifact has one): every byte outside these
  // sorted, disjoint extents is zero. Lets verify and flash skip the empty
  // parts of an image instead of hashing and writing gigabytes of zeros.
  std::vector<Extent> extents;
};

struct Manifest {
  int format = 1;
  std::string product = "annex";
  std::string version;                // dotted numeric, e.g. "1.4.0"
  std::string min_installed_version;  // updates to a version below this are refused; "" = no floor
  std::string key_id;                 // signing key id (16 lower-case hex chars)
  std::vector<Artifact> artifacts;
};

// Canonical JSON: keys in the order of the structs above, 2-space indent,
// trailing newline.
std::string EncodeManifest(const Manifest& m);

// Strict parse: InvalidArgument naming the bad field for malformed JSON, missing,
// mistyped or unknown fields, format != 1, product != "annex", invalid versions
// (min_installed_version may be "" and must not exceed version), a key_id that is
// not 16 lower-case hex chars, sha256 not 64 lower-case hex chars, negative or
// overflowing offset/size, artifact names that are empty, contain '/' or "..",
// and duplicate artifact names.
Result<Manifest> ParseManifest(std::string_view json);

// <0, 0, >0; numeric per dot-separated component: "1.10" > "1.9", "1.2" == "1.2.0".
int CompareVersions(std::string_view a, std::string_view b);

// 1-4 dot-separated decimal components, each 1-9 digits.
bool IsValidVersion(std::string_view v);

// The artifact called `name`, or nullptr.
const Artifact* FindArtifact(const Manifest& m, std::string_view name);

}  // namespace annex::image
