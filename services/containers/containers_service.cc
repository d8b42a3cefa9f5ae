#include "services/containers/containers_service.h"

#include <unistd.h>

#include <utility>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"
#include "services/containers/containers_control.h"
#include "services/containers/ecs_api.h"
#include "services/containers/ecs_errors.h"
#include "services/containers/task_endpoint.h"
#include "services/containers/task_reconciler.h"
#include "appliance/network/workload_network.h"

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

// The task runtime, when this appliance can run containers; otherwise null
// and `ecs.runtime_unavailable` says why (RunTask answers with it).
Result<std::unique_ptr<TaskReconciler>> NewReconciler(const service::Environment& env, Ecs& ecs) {
  auto unavailable = [&](std::string why) {
    ecs.runtime_unavailable = "This appliance cannot run tasks: " + why;
    log::Warn("containers: tasks unavailable", {{"detail", why}});
    return std::unique_ptr<TaskReconciler>();
  };
  if (!env.supervisor) return unavailable("the workload supervisor is unavailable (annexd runs without root)");
  if (!env.network) return unavailable("the workload network is unavailable");
  if (!env.images) return unavailable("there is no image store");
  Result<OciRuntime> runtime = SelectRuntime({.state_root = os::JoinPath(env.data_dir, "runtime")});
  if (!runtime.ok()) return unavailable("no OCI runtime: " + runtime.status().message());
  log::Info("containers: OCI runtime", {{"runtime", runtime->binary()}, {"reason", runtime->reason()}});
  TaskReconcilerOptions options;
  options.ecs = &ecs;
  options.supervisor = env.supervisor;
  options.images = env.images;
  options.network = env.network;
  options.runtime = std::make_unique<OciRuntime>(std::move(*runtime));
  options.tasks_dir = os::JoinPath(env.data_dir, "tasks");
  options.volume_root = os::JoinPath(env.data_dir, "volumes");
  ANNEX_RETURN_IF_ERROR(env.fs->CreateDirs(options.tasks_dir));
  ANNEX_RETURN_IF_ERROR(env.fs->CreateDirs(options.volume_root));
  auto reconciler = std::make_unique<TaskReconciler>(std::move(options));
  ecs.runtime = reconciler.get();
  return reconciler;
}

class ContainersService final : public service::Service {
 public:
  ContainersService(std::unique_ptr<Ecs> ecs, std::unique_ptr<TaskReconciler> reconciler,
                    const service::Environment& env)
      : ecs_(std::move(ecs)), reconciler_(std::move(reconciler)), authorizer_(env.authorizer),
        endpoint_(*ecs_, env.role_credentials) {}
  ~ContainersService() override { Stop(); }

  // Tasks run on without annexd: only the reconciler's thread ends here.
  void Stop() override {
    reconciler_.reset();
    ecs_->runtime = nullptr;
  }

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "ecs";
      d.signing_names = {"ecs"};
      d.target_prefixes = {std::string(kEcsTargetPrefix)};
      d.hosts = {std::string(kTaskEndpointHost)};
      d.protocol = service::Protocol::kJson11;
      // Tasks call their endpoint unsigned (they are known by their address);
      // the API refuses unsigned calls itself.
      d.auth = service::AuthMode::kSigV4OrAnonymous;
      d.max_request_body_bytes = uint64_t{1} << 20;
      d.errors.assign(kEcsErrors.begin(), kEcsErrors.end());
      return d;
    }();
    return d;
  }

  // Ready either way: the API serves without a runtime, and RunTask says why
  // it cannot place tasks; the detail tells the operator.
  service::Health health() const override {
    return {true, ecs_->runtime ? "" : ecs_->runtime_unavailable};
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    if (ctx.request.HostWithoutPort() == kTaskEndpointHost) co_return co_await endpoint_.Handle(ctx);
    co_return co_await HandleEcs(*ecs_, authorizer_, ctx);
  }

 private:
  std::unique_ptr<Ecs> ecs_;
  std::unique_ptr<TaskReconciler> reconciler_;
  const service::Authorizer* authorizer_;
  TaskEndpoint endpoint_;
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
  ANNEX_ASSIGN_OR_RETURN(ecs->store, OpenEcsStore(os::JoinPath(env.data_dir, "db")));
  ecs->reserved_ports.assign(env.appliance_ports.begin(), env.appliance_ports.end());
  if (env.network && env.workload_api_port) {
    ecs->api_endpoint = "http://" + env.network->gateway() + ":" + std::to_string(env.workload_api_port);
  }
  ANNEX_ASSIGN_OR_RETURN(std::unique_ptr<TaskReconciler> reconciler, NewReconciler(env, *ecs));
  service::Module module;
  // The control holds the state the service owns; the service outlives the sync link.
  module.control = NewContainersControl(*ecs, env.root_account_id);
  module.service = std::make_unique<ContainersService>(std::move(ecs), std::move(reconciler), env);
  return module;
}

}  // namespace annex::containers
