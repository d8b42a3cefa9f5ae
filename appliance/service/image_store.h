#pragma once
// ImageStore: how workloads (container tasks, functions packaged as images)
// get a runnable root filesystem from the appliance's registry without
// knowing its internals. The registry service implements it; the
// composition root hands it to the services built after the registry in
// their Environment.
//
// A prepared root filesystem is read-only and shared: every layer is
// unpacked once (whiteouts, opaque directories, hard and symbolic links,
// ownership and modes applied; entries escaping the root, device nodes and
// oversize entries refused or skipped with a logged reason) and each image
// is the chain of its layers. A runtime mounts a writable layer of its own
// on top (overlayfs) and never writes into the returned directory.
//
// Thread-safe. Prepare blocks (it may unpack gigabytes): call it off the io threads.

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::service {

// An image as a task definition or function names it.
struct ImageReference {
  std::string account;     // whose registry
  std::string repository;  // "team/app"
  std::string reference;   // a tag ("latest") or a digest ("sha256:…")
};

// Parses an image URI the way ECS and Lambda accept it:
//   <account>.dkr.ecr.<region>.<domain>/<repo>[:tag|@digest]
//   <repo>[:tag|@digest]                  (the caller's own account)
// The tag defaults to "latest". InvalidArgument for anything else.
Result<ImageReference> ParseImageUri(std::string_view uri, std::string_view default_account);

struct ResolvedImage {
  std::string manifest_digest;  // the image manifest (an index resolved to one platform)
  std::string config_json;      // the image configuration (Entrypoint, Cmd, Env, WorkingDir, User…)
  std::vector<std::string> layer_digests;
  std::string os;
  std::string architecture;
};

struct PreparedRootfs {
  ResolvedImage image;
  std::string rootfs_dir;  // read-only; mount a writable layer over it
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  // The image `ref` names for `platform` ("linux/amd64"); an index is
  // resolved to its entry for that platform. NotFound when the repository,
  // the tag or the platform is missing.
  virtual Result<ResolvedImage> Resolve(const ImageReference& ref, std::string_view platform) = 0;
  // Resolves and unpacks the image (or finds it already unpacked).
  // `holder` names the workload that will run on it ("ecs/<task>/<container>"):
  // the root filesystem is kept for it, across restarts, until
  // Release(holder) — even if the image is deleted from the registry
  // meanwhile. A holder holds one root filesystem: preparing another moves
  // its hold. An empty holder holds nothing: the root filesystem is then
  // kept at least a day after its last Prepare.
  virtual Result<PreparedRootfs> Prepare(const ImageReference& ref, std::string_view platform,
                                         std::string_view holder) = 0;
  // Lets go of what `holder` holds (nothing held is not an error).
  virtual Status Release(std::string_view holder) = 0;
};

}  // namespace annex::service
