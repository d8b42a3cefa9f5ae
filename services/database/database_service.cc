#include "services/database/database_service.h"

#include <sys/stat.h>

#include <memory>
#include <utility>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/os/random.h"
#include "appliance/os/file_system.h"
#include "appliance/os/host_command_runner.h"
#include "appliance/service/authorizer.h"
#include "services/database/database_control.h"
#include "services/database/instance_reconciler.h"
#include "services/database/rds_api.h"
#include "services/database/rds_errors.h"

namespace annex::database {
namespace {

// Whether the instances' user can reach `dir` (every directory above it
// searchable): PostgreSQL opens its data directory by path.
Status CheckReachable(os::CommandRunner& runner, const PostgresBinaries& pg, const std::string& dir) {
  PostgresCommands commands(runner, pg);
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, runner.Run(commands.AsUser({"/usr/bin/test", "-x", dir})));
  if (out.ok()) return Status::OK();
  return Status::FailedPrecondition("user " + pg.user + " cannot reach " + dir +
                                    ": a directory above it is not searchable (chmod o+x it)");
}

// The bucket backups go to: a name of the appliance's own, chosen once
// (<data>/database/backup-bucket), that no account can guess to take first.
Result<std::string> BackupBucket(const service::Environment& env) {
  std::string path = os::JoinPath(env.data_dir, "backup-bucket");
  Result<std::string> existing = os::ReadFileToString(*env.fs, path);
  if (existing.ok() && !existing->empty()) return std::string(TrimWhitespace(*existing));
  std::string name = "annex-rds-backups-" + os::RandomHex(8);
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(*env.fs, path, name));
  return name;
}

// The instance runtime, when this appliance can run instances; otherwise
// null and `rds.unavailable` says why (CreateDBInstance answers with it).
std::unique_ptr<InstanceReconciler> NewReconciler(const service::Environment& env, Rds& rds,
                                                  os::CommandRunner& runner) {
  auto unavailable = [&](std::string why) {
    rds.unavailable = "This appliance cannot run DB instances: " + why;
    log::Warn("database: instances unavailable", {{"detail", why}});
    return std::unique_ptr<InstanceReconciler>();
  };
  if (!env.supervisor) return unavailable("the workload supervisor is unavailable (annexd runs without root)");
  Result<PostgresBinaries> pg = FindPostgres(runner);
  if (!pg.ok()) return unavailable(pg.status().message());
  rds.engine_version = pg->version;
  if (Status s = CheckReachable(runner, *pg, rds.instances_dir); !s.ok()) return unavailable(s.message());
  log::Info("database: PostgreSQL", {{"bin", pg->bin_dir}, {"version", pg->version}, {"user", pg->user}});
  InstanceReconcilerOptions options;
  options.rds = &rds;
  options.supervisor = env.supervisor;
  options.runner = &runner;
  options.postgres = std::move(*pg);
  options.restore_point_interval = env.restore_point_interval;
  options.scheduler = env.scheduler;
  if (env.service_users && env.endpoints) {
    Result<std::string> bucket = BackupBucket(env);
    if (bucket.ok()) {
      options.backups = InstanceBackupsOptions{&rds, &runner, env.endpoints, env.service_users, *bucket};
    } else {
      log::Warn("database: backups unavailable", {{"error", bucket.status().ToString()}});
    }
  }
  auto reconciler = std::make_unique<InstanceReconciler>(std::move(options));
  rds.reconciler = reconciler.get();
  return reconciler;
}

class DatabaseService final : public service::Service {
 public:
  DatabaseService(std::unique_ptr<Rds> rds, std::unique_ptr<os::CommandRunner> runner,
                  const service::Environment& env)
      : rds_(std::move(rds)), runner_(std::move(runner)), authorizer_(env.authorizer) {
    reconciler_ = NewReconciler(env, *rds_, *runner_);
  }
  ~DatabaseService() override { Stop(); }

  // Instances run on without annexd: only the reconciler's thread ends here.
  void Stop() override {
    reconciler_.reset();
    rds_->reconciler = nullptr;
  }

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "rds";
      d.signing_names = {"rds"};
      d.protocol = service::Protocol::kQuery;
      d.auth = service::AuthMode::kSigV4;
      d.max_request_body_bytes = uint64_t{1} << 20;
      d.errors.assign(kRdsErrors.begin(), kRdsErrors.end());
      return d;
    }();
    return d;
  }

  // Ready either way: the API serves without a runtime, and
  // CreateDBInstance says why it cannot; the detail tells the operator.
  service::Health health() const override { return {true, rds_->reconciler ? "" : rds_->unavailable}; }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    co_return co_await HandleRds(*rds_, authorizer_, ctx);
  }

 private:
  std::unique_ptr<Rds> rds_;
  std::unique_ptr<os::CommandRunner> runner_;
  const service::Authorizer* authorizer_;
  std::unique_ptr<InstanceReconciler> reconciler_;
};

}  // namespace

Result<service::Module> NewModule(const service::Environment& env) {
  if (!env.fs || !env.clock) return Status::FailedPrecondition("the database service needs the file system and the clock");
  auto rds = std::make_unique<Rds>();
  rds->region = env.region;
  rds->clock = env.clock;
  rds->endpoint_host = env.host.empty() ? "localhost" : env.host;
  rds->instances_dir = os::JoinPath(env.data_dir, "instances");
  ANNEX_RETURN_IF_ERROR(env.fs->CreateDirs(rds->instances_dir));
  // The instances' user passes through to its own directories, and reads nothing here.
  for (const std::string& dir : {env.data_dir, rds->instances_dir}) {
    if (::chmod(dir.c_str(), 0711) != 0) return Status::FromErrno(errno, "chmod " + dir);
  }
  ANNEX_ASSIGN_OR_RETURN(rds->store, OpenRdsStore(os::JoinPath(env.data_dir, "db")));
  os::HostCommandRunner::Options runner_options;
  runner_options.timeout = std::chrono::minutes(5);  // initdb, a volume's mkfs
  auto runner = std::make_unique<os::HostCommandRunner>(runner_options);
  service::Module module;
  // The control holds the state the service owns; the service outlives the sync link.
  module.control = NewDatabaseControl(*rds, env.root_account_id);
  module.service = std::make_unique<DatabaseService>(std::move(rds), std::move(runner), env);
  return module;
}

}  // namespace annex::database
