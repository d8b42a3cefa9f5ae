#include "services/registry/registry_service.h"

#include <utility>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/iam/identity_store.h"
#include "appliance/os/file_system.h"
#include "appliance/schedule/scheduler.h"
#include "services/registry/distribution_api.h"
#include "services/registry/ecr_api.h"
#include "services/registry/ecr_errors.h"
#include "services/registry/image_transfer_api.h"
#include "services/registry/lifecycle_runner.h"
#include "services/registry/registry_control.h"
#include "services/registry/registry_image_store.h"

namespace annex::registry {

Registry::Registry() = default;
Registry::~Registry() = default;

namespace {

// The garbage collector's schedule: often enough that deleted images free
// their space within the hour, cheap when there is nothing to do.
constexpr std::string_view kGcSchedule = "registry/gc";
constexpr std::string_view kGcTarget = "registry.gc";
// How long an unpacked image nobody holds is kept after its last use.
constexpr std::chrono::hours kUnusedRootfsKept{24};

class RegistryService final : public service::Service {
 public:
  explicit RegistryService(std::shared_ptr<Registry> registry) : registry_(std::move(registry)) {}

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "ecr";
      d.signing_names = {"ecr"};
      d.target_prefixes = {std::string(kEcrTargetPrefix)};
      d.path_prefixes = {"/v2/", "/v2"};
      d.protocol = service::Protocol::kJson11;
      // /v2/ callers present ECR tokens (Basic or Bearer), checked here;
      // ECR API calls are SigV4 like every other service's.
      d.auth = service::AuthMode::kOwnCheck;
      // UploadLayerPart carries a 20 MiB part as base64 in its JSON body.
      d.max_request_body_bytes = uint64_t{32} << 20;
      d.errors.assign(kEcrErrors.begin(), kEcrErrors.end());
      return d;
    }();
    return d;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    const std::string& path = ctx.request.path;
    if (path == "/v2" || StartsWith(path, "/v2/")) co_return co_await HandleDistribution(*registry_, ctx);
    if (StartsWith(path, kImageTransferPrefix)) co_return co_await HandleImageTransfer(*registry_, ctx);
    co_return co_await HandleEcr(*registry_, ctx);
  }

  void AppendMetrics(std::string& out) const override {
    out += "# HELP annex_registry_blobs Blobs held by the registry.\n# TYPE annex_registry_blobs gauge\n";
    out += "annex_registry_blobs " + std::to_string(registry_->store->blob_count()) + "\n";
    out += "# HELP annex_registry_stored_bytes Bytes of blobs held by the registry.\n"
           "# TYPE annex_registry_stored_bytes gauge\n";
    out += "annex_registry_stored_bytes " + std::to_string(registry_->store->stored_bytes()) + "\n";
  }

 private:
  std::shared_ptr<Registry> registry_;
};

}  // namespace

Result<service::Module> NewModule(const service::Environment& env) {
  if (!env.fs || !env.clock || !env.identities) {
    return Status::FailedPrecondition("the registry needs the file system, the clock and the identity store");
  }
  auto registry = std::make_shared<Registry>();
  registry->env = env;
  ANNEX_RETURN_IF_ERROR(env.fs->CreateDirs(env.data_dir));
  registry->blobs = std::make_unique<BlobStore>(*env.fs, os::JoinPath(env.data_dir, "storage"));
  ANNEX_RETURN_IF_ERROR(registry->blobs->Init());
  ANNEX_ASSIGN_OR_RETURN(registry->store, RegistryStore::Open(os::JoinPath(env.data_dir, "meta"), *registry->blobs,
                                                              *env.clock));
  ANNEX_ASSIGN_OR_RETURN(RegistryStore::GcStats cleaned, registry->store->CleanOrphans());
  if (cleaned.blobs_removed || cleaned.uploads_expired) {
    log::Info("registry: removed what a crash left behind", {{"blobs", std::to_string(cleaned.blobs_removed)},
                                                               {"uploads", std::to_string(cleaned.uploads_expired)}});
  }
  // Before serving: an import a restart cut short is failed now, not when the next one arrives.
  FailInterruptedImports(*registry);
  ANNEX_ASSIGN_OR_RETURN(registry->tokens, RegistryTokens::Open(*env.fs, os::JoinPath(env.data_dir, "token.key"),
                                                                *env.identities, *env.clock));
  if (env.scheduler) {
    std::weak_ptr<Registry> weak = registry;
    env.scheduler->RegisterTarget(std::string(kGcTarget), [weak](const schedule::Firing&) -> Status {
      auto r = weak.lock();
      if (!r) return Status::OK();
      Result<RegistryStore::GcStats> stats = r->store->CollectGarbage();
      if (!stats.ok()) return stats.status();
      if (stats->blobs_removed || stats->links_removed || stats->uploads_expired) {
        log::Info("registry: garbage collected", {{"blobs", std::to_string(stats->blobs_removed)},
                                                  {"bytes", std::to_string(stats->bytes_freed)},
                                                  {"links", std::to_string(stats->links_removed)},
                                                  {"uploads", std::to_string(stats->uploads_expired)}});
      }
      // Root filesystems no workload holds, a day after their last use.
      if (r->images) {
        Result<uint64_t> removed = r->images->CollectUnused(kUnusedRootfsKept);
        if (!removed.ok()) return removed.status();
        if (*removed) log::Info("registry: unused root filesystems removed", {{"count", std::to_string(*removed)}});
      }
      return Status::OK();
    });
    ANNEX_RETURN_IF_ERROR(
        env.scheduler->Put({std::string(kGcSchedule), "rate(15 minutes)", std::string(kGcTarget), ""}));
  }
  ANNEX_RETURN_IF_ERROR(RegisterLifecycleSchedule(registry));
  registry->images = NewRegistryImageStore(*registry);
  service::Module module;
  module.images = registry->images.get();
  module.control = NewRegistryControl(registry);
  module.service = std::make_unique<RegistryService>(registry);
  return module;
}

}  // namespace annex::registry
