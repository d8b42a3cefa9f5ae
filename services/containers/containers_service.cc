#include "services/containers/containers_service.h"

#include <unistd.h>

#include <utility>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"
#include "services/containers/ecs_api.h"
#include "services/containers/ecs_errors.h"

namespace annex::containers {
namespace {

// What the appliance keeps of the host's memory for itself and the system.
constexpr int64_t kReservedMemoryMib = 256;

HostResources MeasureHost() {
  HostResources host;
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGE_SIZE);
  host.cpu_units = std::max(1L, cores) * 1024;
  host.memory_mib = std::max<int64_t>(0, static_cast<int64_t>(pages) * page_size / (1024 * 1024) - kReservedMemoryMib);
  return host;
}

// This server's container-instance id, kept across restarts (it names the
// server in every cluster's ARNs).
Result<std::string> ServerId(os::FileSystem& fs, const std::string& dir) {
  std::string path = os::JoinPath(dir, "server-id");
  Result<std::string> existing = os::ReadFileToString(fs, path);
  if (existing.ok() && !existing->empty()) return *existing;
  std::string id = os::RandomHex(16);
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, path, id));
  return id;
}

class ContainersService final : public service::Service {
 public:
  ContainersService(std::unique_ptr<Ecs> ecs, const service::Authorizer* authorizer)
      : ecs_(std::move(ecs)), authorizer_(authorizer) {}

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "ecs";
      d.signing_names = {"ecs"};
      d.target_prefixes = {std::string(kEcsTargetPrefix)};
      d.protocol = service::Protocol::kJson11;
      d.auth = service::AuthMode::kSigV4;
      d.max_request_body_bytes = uint64_t{1} << 20;
      d.errors.assign(kEcsErrors.begin(), kEcsErrors.end());
      return d;
    }();
    return d;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    co_return co_await HandleEcs(*ecs_, authorizer_, ctx);
  }

 private:
  std::unique_ptr<Ecs> ecs_;
  const service::Authorizer* authorizer_;
};

}  // namespace

Result<service::Module> NewModule(const service::Environment& env) {
  if (!env.fs || !env.clock) return Status::FailedPrecondition("the containers service needs the file system and the clock");
  ANNEX_RETURN_IF_ERROR(env.fs->CreateDirs(env.data_dir));
  auto ecs = std::make_unique<Ecs>();
  ecs->region = env.region;
  ecs->clock = env.clock;
  ecs->host = MeasureHost();
  ANNEX_ASSIGN_OR_RETURN(ecs->server_id, ServerId(*env.fs, env.data_dir));
  ANNEX_ASSIGN_OR_RETURN(ecs->store, EcsStore::Open(os::JoinPath(env.data_dir, "db")));
  ecs->runtime_unavailable = "This appliance cannot run tasks: the task runtime is not available.";
  service::Module module;
  module.service = std::make_unique<ContainersService>(std::move(ecs), env.authorizer);
  return module;
}

}  // namespace annex::containers
