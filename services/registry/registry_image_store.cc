#include "services/registry/registry_image_store.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "appliance/core/log.h"
#include "services/registry/digest.h"
#include "services/registry/host_platform.h"
#include "services/registry/image_snapshots.h"
#include "services/registry/manifest.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;

// Image configs are a few KiB; a bound keeps a hostile one out of memory.
constexpr uint64_t kMaxConfigBytes = uint64_t{8} << 20;

// "os/arch[/variant]"; empty means the appliance's own (HostPlatform()).
Result<Platform> ParsePlatform(std::string_view text) {
  if (text.empty()) return HostPlatform();
  Platform p;
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
    return Status::InvalidArgument("platform '" + std::string(text) + "' is not os/architecture[/variant]");
  }
  p.os = std::string(text.substr(0, slash));
  std::string_view rest = text.substr(slash + 1);
  size_t second = rest.find('/');
  p.architecture = std::string(rest.substr(0, second));
  if (second != std::string_view::npos) p.variant = std::string(rest.substr(second + 1));
  return p;
}

Result<std::string> ReadBlob(const BlobStore& blobs, const std::string& digest, uint64_t limit) {
  ANNEX_ASSIGN_OR_RETURN(os::RandomAccessFilePtr file, blobs.Open(digest));
  if (file->Size() > limit) return Status::ResourceExhausted("blob " + digest + " is too large for an image config");
  std::string data(file->Size(), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ANNEX_ASSIGN_OR_RETURN(size_t n, file->ReadAt(done, std::span<char>(data.data() + done, data.size() - done)));
    if (n == 0) return Status::Corruption("blob " + digest + " is shorter than its size");
    done += n;
  }
  if (DigestOf(data) != digest) return Status::Corruption("blob " + digest + " does not match its digest");
  return data;
}

// What Prepare needs beyond ResolvedImage: the diffIDs from the config.
struct Resolution {
  service::ResolvedImage image;
  std::vector<std::string> diff_ids;
};

Status ParseConfig(const std::string& json, const Manifest& manifest, const Platform& want, Resolution& out) {
  Json config = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return Status::InvalidArgument("the image config is not a JSON object");
  out.image.os = config.value("os", std::string());
  out.image.architecture = config.value("architecture", std::string());
  if ((!out.image.os.empty() && out.image.os != want.os) ||
      (!out.image.architecture.empty() && out.image.architecture != want.architecture)) {
    return Status::NotFound("the image is for " + out.image.os + "/" + out.image.architecture + ", not " +
                            PlatformName(want));
  }
  auto rootfs = config.find("rootfs");
  if (rootfs == config.end() || !rootfs->is_object() || rootfs->value("type", std::string()) != "layers") {
    return Status::InvalidArgument("the image config has no rootfs of type layers: not a runnable image");
  }
  auto diff_ids = rootfs->find("diff_ids");
  if (diff_ids == rootfs->end() || !diff_ids->is_array() || diff_ids->size() != manifest.layers.size()) {
    return Status::InvalidArgument("the image config's rootfs.diff_ids do not match the manifest's layers");
  }
  for (const Json& d : *diff_ids) {
    if (!d.is_string() || !IsValidDigest(d.get<std::string>())) {
      return Status::InvalidArgument("the image config lists an invalid diff_id");
    }
    out.diff_ids.push_back(d.get<std::string>());
  }
  return Status::OK();
}

bool Matches(const Descriptor& d, const Platform& want) {
  return d.platform_os == want.os && d.platform_architecture == want.architecture &&
         (want.variant.empty() || d.platform_variant == want.variant);
}

class SnapshotImageStore final : public RegistryImageStore {
 public:
  explicit SnapshotImageStore(Registry& registry)
      : registry_(registry), snapshots_(registry.env.data_dir + "/rootfs") {}

  Result<service::ResolvedImage> Resolve(const service::ImageReference& ref, std::string_view platform) override {
    ANNEX_ASSIGN_OR_RETURN(Resolution r, ResolveFull(ref, platform));
    return std::move(r.image);
  }

  Result<service::PreparedRootfs> Prepare(const service::ImageReference& ref, std::string_view platform,
                                          std::string_view holder) override {
    ANNEX_RETURN_IF_ERROR(InitOnce());
    ANNEX_ASSIGN_OR_RETURN(Resolution r, ResolveFull(ref, platform));
    std::vector<LayerSource> layers;
    for (size_t i = 0; i < r.diff_ids.size(); ++i) layers.push_back({r.image.layer_digests[i], r.diff_ids[i]});
    const BlobStore& blobs = *registry_.blobs;
    ANNEX_ASSIGN_OR_RETURN(std::string dir,
                           snapshots_.Ensure(
                               layers, [&](const std::string& digest) { return blobs.Open(digest); }, holder));
    registry_.store->NotePull(ref.account, ref.repository, r.image.manifest_digest);
    return service::PreparedRootfs{std::move(r.image), std::move(dir)};
  }

  Status Release(std::string_view holder) override {
    ANNEX_RETURN_IF_ERROR(InitOnce());
    return snapshots_.Release(holder);
  }

  Result<uint64_t> CollectUnused(std::chrono::seconds unused_for) override {
    ANNEX_RETURN_IF_ERROR(InitOnce());
    ANNEX_ASSIGN_OR_RETURN(SnapshotCache::CollectStats stats, snapshots_.Collect(unused_for));
    return stats.removed;
  }

 private:
  Result<Resolution> ResolveFull(const service::ImageReference& ref, std::string_view platform_text);
  Result<ManifestRecord> SelectPlatform(const service::ImageReference& ref, const ManifestRecord& index,
                                        const Manifest& parsed, const Platform& want);

  // The cache's layout is made, and leftovers of a crash removed, before the first build.
  Status InitOnce() {
    std::call_once(init_once_, [this] {
      init_status_ = snapshots_.Init();
      if (!init_status_.ok()) log::Error("image store unusable", {{"error", init_status_.message()}});
    });
    return init_status_;
  }

  Registry& registry_;
  SnapshotCache snapshots_;
  std::once_flag init_once_;
  Status init_status_;
};

Result<ManifestRecord> SnapshotImageStore::SelectPlatform(const service::ImageReference& ref,
                                                          const ManifestRecord& index, const Manifest& parsed,
                                                          const Platform& want) {
  for (const Descriptor& d : parsed.manifests) {
    if (Matches(d, want)) return registry_.store->GetManifest(ref.account, ref.repository, d.digest);
  }
  return Status::NotFound("image " + ref.repository + "@" + index.digest + " has no " + PlatformName(want) +
                          " manifest");
}

Result<Resolution> SnapshotImageStore::ResolveFull(const service::ImageReference& ref,
                                                   std::string_view platform_text) {
  ANNEX_ASSIGN_OR_RETURN(Platform want, ParsePlatform(platform_text));
  ANNEX_ASSIGN_OR_RETURN(ManifestRecord record,
                         registry_.store->GetManifest(ref.account, ref.repository, ref.reference));
  ANNEX_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(record.bytes, record.media_type));
  if (manifest.is_index()) {
    ANNEX_ASSIGN_OR_RETURN(record, SelectPlatform(ref, record, manifest, want));
    ANNEX_ASSIGN_OR_RETURN(manifest, ParseManifest(record.bytes, record.media_type));
    if (manifest.is_index()) return Status::InvalidArgument("nested image indexes are not supported");
  }
  Resolution r;
  r.image.manifest_digest = record.digest;
  ANNEX_ASSIGN_OR_RETURN(r.image.config_json, ReadBlob(*registry_.blobs, manifest.config.digest, kMaxConfigBytes));
  ANNEX_RETURN_IF_ERROR(ParseConfig(r.image.config_json, manifest, want, r));
  for (const Descriptor& layer : manifest.layers) r.image.layer_digests.push_back(layer.digest);
  return r;
}

}  // namespace

std::unique_ptr<RegistryImageStore> NewRegistryImageStore(Registry& registry) {
  return std::make_unique<SnapshotImageStore>(registry);
}

}  // namespace annex::registry
