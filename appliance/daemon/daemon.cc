#include <utility>

#include "appliance/daemon/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <filesystem>
#include <thread>

#include "appliance/auth/sigv4_verifier.h"
#include "appliance/core/log.h"
#include "appliance/crypto/certificate_fingerprint.h"
#include "appliance/crypto/hash.h"
#include "appliance/daemon/admin_service.h"
#include "appliance/daemon/edge.h"
#include "appliance/daemon/sync_link.h"
#include "appliance/daemon/workload_log_sink.h"
#include "appliance/events/event_bus.h"
#include "appliance/http/server.h"
#include "appliance/http/tls_context.h"
#include "appliance/iam/iam_service.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/iam/role_sessions.h"
#include "appliance/iam/sts_service.h"
#include "appliance/iam/root_credentials.h"
#include "appliance/iam/root_service_users.h"
#include "appliance/logs/log_store.h"
#include "appliance/os/server_process.h"
#include "appliance/schedule/scheduler.h"
#include "appliance/service/appliance_endpoints.h"
#include "appliance/service/environment.h"
#include "appliance/supervisor/cgroup_layout.h"
#include "appliance/supervisor/output_forwarder.h"
#include "appliance/supervisor/supervisor.h"
#include "services/logs/logs_service.h"
#include "appliance/daemon/workload_network_setup.h"
#include "services/containers/containers_service.h"
#include "services/database/database_service.h"
#include "services/registry/registry_service.h"
#include "services/objectstore/object_store_service.h"

namespace annex::daemon {
namespace {

constexpr auto kAbandonGrace = std::chrono::seconds(2);

// The host of HOST:PORT, or this machine's name when HOST takes every address.
std::string PublicHost(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!host.empty() && host != "0.0.0.0" && host != "::") return host;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && name[0]) return name;
  return "localhost";
}

// One annexd per data dir: a second one would corrupt nothing (LMDB locks)
// but would fight over ports and orphan cleanup, so refuse early.
Result<int> LockDataDir(const std::string& data_dir) {
  std::string path = os::JoinPath(data_dir, "LOCK");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::FailedPrecondition("another annexd is using " + data_dir);
  }
  return fd;
}

// The URL a client on this machine uses for a listener bound to `listen`.
std::string ClientEndpoint(std::string_view scheme, const std::string& listen, uint16_t port) {
  auto hp = http::ParseHostPort(listen);
  std::string host = !hp.ok() || hp->first == "0.0.0.0" || hp->first == "::" ? "127.0.0.1" : hp->first;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(scheme) + "://" + host + ":" + std::to_string(port);
}

// Adds a built module, or says which one failed to start.
Status AddModule(std::vector<service::Module>& modules, Result<service::Module> built) {
  if (!built.ok()) return built.status();
  log::Info("service started", {{"service", std::string(built->service->name())}});
  modules.push_back(std::move(*built));
  return Status::OK();
}

// Runs `io` until stopped. An exception out of a handler would otherwise end
// the thread (std::terminate): log it and keep serving, as Asio's docs advise.
void RunGuarded(boost::asio::io_context& io) {
  while (true) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      log::Error("io thread: unhandled exception", {{"error", e.what()}});
    } catch (...) {
      log::Error("io thread: unhandled exception", {{"error", "unknown exception"}});
    }
  }
}

// The appliance's TLS identity: what its HTTPS listeners serve, and the CA
// that clients (the edge's /_annex/ca.pem, the services' own helpers) trust.
struct TlsIdentity {
  std::unique_ptr<boost::asio::ssl::context> context;
  std::string ca_file;
  std::string ca_pem;
};

// The TLS identity under <data>/tls for the configured names (keys are made
// on the first start only); logs the CA's fingerprint, which clients check.
Result<TlsIdentity> SetUpTls(const Config& config) {
  TlsServerNames names = ServerCertificateNames(config);
  ANNEX_ASSIGN_OR_RETURN(auto files, http::EnsureTlsFiles(os::JoinPath(config.data_dir, "tls"), names.dns_names,
                                                          names.ip_addresses));
  ANNEX_ASSIGN_OR_RETURN(std::string ca_pem, os::ReadFileToString(os::PosixFileSystem(), files.ca_cert));
  ANNEX_ASSIGN_OR_RETURN(std::string fingerprint, crypto::CertificateSha256Fingerprint(ca_pem));
  std::string all_names;
  for (const auto* list : {&names.dns_names, &names.ip_addresses}) {
    for (const auto& n : *list) all_names += (all_names.empty() ? "" : ",") + n;
  }
  if (files.issued_server_cert) {
    log::Info(files.created_ca ? "tls: created the appliance CA and a server certificate"
                               : "tls: issued a new server certificate (names changed, expiring, or damaged)",
              {{"names", all_names}});
  }
  log::Info("tls", {{"ca", files.ca_cert}, {"ca_sha256", fingerprint}});
  ANNEX_ASSIGN_OR_RETURN(auto context, http::MakeServerTlsContext(files));
  return TlsIdentity{std::move(context), files.ca_cert, std::move(ca_pem)};
}

// Whether a listener bound to `listen` takes connections to 127.0.0.1.
bool TakesLoopback(const std::string& listen) {
  auto hp = http::ParseHostPort(listen);
  return hp.ok() && (hp->first == "127.0.0.1" || hp->first == "0.0.0.0" || hp->first == "::");
}

// The edge's server options with the configured limits. Without a
// configured cap, half the descriptors may be connections: each may hold an
// object file open as well, and LMDB, logs and uploads need some.
http::ServerOptions ServerOptionsFor(const Config& config) {
  http::ServerOptions options = Edge::ServerOptions();
  uint64_t fd_limit = os::OpenFileLimit();
  options.max_connections = config.max_connections > 0
                                ? config.max_connections
                                : static_cast<size_t>(std::clamp<uint64_t>(fd_limit / 2, 64, 4096));
  options.max_uploads = config.max_concurrent_uploads;
  options.header_timeout = std::chrono::milliseconds(config.head_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  options.io_timeout = std::chrono::milliseconds(config.io_timeout_ms);
  log::Info("connection limits", {{"max_connections", std::to_string(options.max_connections)},
                                  {"max_concurrent_uploads", std::to_string(options.max_uploads)},
                                  {"open_file_limit", std::to_string(fd_limit)}});
  return options;
}

// Drains in-flight requests, then stops every io_context. Requests still
// running at `drain_timeout` are abandoned (answered 503 where no response
// has started) and counted into `abandoned`; the answers get
// kAbandonGrace to go out.
void StartShutdown(const std::vector<boost::asio::io_context*>& contexts, std::vector<http::HttpServer*> servers,
                   Edge& edge, std::chrono::milliseconds drain_timeout, size_t& abandoned) {
  boost::asio::io_context& io = *contexts.front();
  log::Info("shutting down: draining in-flight requests");
  edge.SetReady(false);
  for (auto* s : servers) s->StopAccepting();
  auto deadline = std::chrono::steady_clock::now() + drain_timeout;
  auto timer = std::make_shared<boost::asio::steady_timer>(io);
  auto poll = std::make_shared<std::function<void()>>();
  bool gave_up = false;
  *poll = [contexts, servers, deadline, timer, poll, gave_up, &abandoned]() mutable {
    size_t active = 0;
    for (auto* s : servers) active += s->active_requests();
    auto now = std::chrono::steady_clock::now();
    if (active > 0 && !gave_up && now > deadline) {
      gave_up = true;
      for (auto* s : servers) abandoned += s->AbandonRequests();
      log::Warn("shutting down: drain timed out, abandoning in-flight requests",
                {{"abandoned", std::to_string(abandoned)}});
    }
    if (active == 0 || now > deadline + kAbandonGrace) {
      for (auto* c : contexts) c->stop();
      *poll = nullptr;  // break the self-reference
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([poll](const boost::system::error_code&) {
      if (*poll) (*poll)();
    });
  };
  (*poll)();
}

}  // namespace

Status RunDaemon(const Config& config) {
  os::FileSystem& fs = os::PosixFileSystem();
  os::Clock& clock = os::SystemClock();
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(config.data_dir));
  ANNEX_ASSIGN_OR_RETURN(int lock_fd, LockDataDir(config.data_dir));

  ANNEX_ASSIGN_OR_RETURN(auto identities, iam::IdentityStore::Open(os::JoinPath(config.data_dir, "iam"), clock));
  ANNEX_ASSIGN_OR_RETURN(auto policies, iam::PolicyStore::Open(os::JoinPath(config.data_dir, "iam-policies"), clock));
  iam::PolicyAuthorizer authorizer(*identities, *policies);
  iam::RoleSessions role_sessions(*identities, *policies);
  std::optional<iam::RootKeyFromEnv> env_key;
  if (!config.root_access_key_id.empty()) env_key = iam::RootKeyFromEnv{config.root_access_key_id, config.root_secret_access_key};
  ANNEX_ASSIGN_OR_RETURN(auto root, iam::EnsureRootCredentials(*identities, fs, config.data_dir, env_key));

  os::BlockingPool blocking(config.blocking_threads);
  ANNEX_ASSIGN_OR_RETURN(auto scheduler, schedule::Scheduler::Open(os::JoinPath(config.data_dir, "schedules"), clock));
  events::EventBus event_bus(clock);
  // One log store for the appliance: the Logs API serves it, platform code
  // (workload output) appends to it. It outlives every service.
  logs::LogStore::Options log_options;
  log_options.dir = os::JoinPath(config.data_dir, "logs");
  log_options.clock = &clock;
  ANNEX_ASSIGN_OR_RETURN(auto log_store, logs::LogStore::Open(log_options));
  // Workloads run under the supervisor and outlive annexd; it re-adopts the
  // ones still running. Without it (annexd not root) the appliance serves
  // everything but workloads, and its health says so.
  auto cgroups = supervisor::DetectCgroupLayout();
  std::string cgroup_note = cgroups.ok() ? cgroups->Describe() : "unknown (" + cgroups.status().message() + ")";
  log::Info("cgroups", {{"layout", cgroup_note}});
  supervisor::Supervisor::Options supervisor_options;
  supervisor_options.data_dir = os::JoinPath(config.data_dir, "supervisor");
  supervisor_options.clock = &clock;
  // Each appliance data dir owns a cgroup subtree of its own: the supervisor
  // kills what it finds in its subtree without a record, so two annexds on
  // one machine (a developer's, the tests') must never share one.
  std::error_code canonical_error;
  std::string data_dir_path = std::filesystem::weakly_canonical(config.data_dir, canonical_error).string();
  if (canonical_error) data_dir_path = config.data_dir;
  supervisor_options.cgroup_root = "annex-workloads-" + crypto::Sha256Hex(data_dir_path).substr(0, 12);
  std::unique_ptr<supervisor::Supervisor> workloads;
  std::string workloads_note;
  if (::geteuid() != 0) {
    workloads_note = "workloads unavailable: annexd needs root for cgroups and namespaces";
  } else if (auto opened = supervisor::Supervisor::Open(supervisor_options); opened.ok()) {
    workloads = std::move(*opened);
  } else {
    workloads_note = "workloads unavailable: " + opened.status().message();
  }
  if (!workloads_note.empty()) log::Warn("supervisor", {{"detail", workloads_note}});
  // The workloads' bridge network (workload_network_setup.h).
  WorkloadNetworkSetup net = OpenWorkloadNetwork(config, data_dir_path, workloads != nullptr);
  if (!net.note.empty()) workloads_note = net.note;
  WorkloadLogSink workload_logs(*log_store);
  std::unique_ptr<supervisor::OutputForwarder> output_forwarder;
  if (workloads) {
    output_forwarder = std::make_unique<supervisor::OutputForwarder>(*workloads, workload_logs,
                                                                     supervisor::OutputForwarder::Options{&clock});
  }
  std::string public_host = PublicHost(config.listen);
  // Always, whatever --tls-listen says: the services' own helpers reach the
  // appliance over TLS on the loopback address (appliance_endpoints.h).
  ANNEX_ASSIGN_OR_RETURN(TlsIdentity tls, SetUpTls(config));
  service::ApplianceEndpoints endpoints;
  endpoints.ca_file = tls.ca_file;
  iam::RootServiceUsers service_users(*identities, *policies, root.account_id);
  Metrics metrics;  // before the services, which may add to it, and the sync link, which reads it until it stops
  std::vector<service::Module> modules;
  // Each service gets an environment of its own: its directory under the data dir.
  std::string data_dir = config.data_dir;
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  const std::string sealing_key_file =
      config.sealing_key_file.empty() ? data_dir + ".sealing-key" : config.sealing_key_file;
  auto environment = [&](std::string_view dir) {
    service::Environment env;
    env.data_dir = os::JoinPath(config.data_dir, dir);
    env.fs = &fs;
    env.clock = &clock;
    env.blocking = &blocking;
    env.region = config.region;
    env.domain = config.domain;
    env.root_account_id = root.account_id;
    env.host = public_host;
    env.identities = identities.get();
    env.authorizer = &authorizer;
    env.role_credentials = &role_sessions;
    env.metrics = &metrics;
    env.scheduler = scheduler.get();
    env.events = &event_bus;
    env.log_store = log_store.get();
    env.supervisor = workloads.get();
    env.network = net.network.get();
    env.workload_api_port = net.api_port;
    env.appliance_ports = net.appliance_ports;
    env.endpoints = &endpoints;
    env.service_users = &service_users;
    env.restore_point_interval = std::chrono::milliseconds(config.restore_point_interval_ms);
    env.sealing_key_file = sealing_key_file;
    env.plaintext_objects = config.plaintext_objects;
    for (const auto& m : modules) {
      if (m.images) env.images = m.images;
    }
    return env;
  };
  // The services, in start order; they stop in reverse. A new service is one line here.
  ANNEX_RETURN_IF_ERROR(AddModule(modules, objectstore::NewModule(environment("objectstore"))));
  ANNEX_RETURN_IF_ERROR(AddModule(modules, logs::NewModule(environment("logs"))));
  ANNEX_RETURN_IF_ERROR(AddModule(modules, registry::NewModule(environment("registry"))));
  ANNEX_RETURN_IF_ERROR(AddModule(modules, containers::NewModule(environment("containers"))));
  ANNEX_RETURN_IF_ERROR(AddModule(modules, database::NewModule(environment("database"))));

  std::vector<service::ServiceControl*> controls;
  for (auto& m : modules) {
    if (m.control) controls.push_back(m.control.get());
  }
  ANNEX_ASSIGN_OR_RETURN(auto sync_link, SyncLink::Start(config, controls, metrics));
  auto iam_service = iam::NewIamService(*identities, *policies, &authorizer);
  auto sts_service = iam::NewStsService(*identities, role_sessions, &authorizer);
  auto admin = NewAdminService(*identities, root.account_id, sync_link.get());

  auth::SigV4Verifier verifier(*identities, clock, config.region);
  // SigV2 signs the bucket of a virtual-hosted request: the verifier needs S3's host names.
  auth::SigV2Verifier v2_verifier(*identities, clock, objectstore::VirtualHostSuffixes(config.domain, config.region));
  metrics.AddSource([&sync_link](std::string& out) { sync_link->RenderMetrics(out); });
  std::string spool_dir = os::JoinPath(config.data_dir, "spool");  // unnamed files only: nothing to clean up
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(spool_dir));
  Edge edge(EdgeOptions{config.region, &clock, &blocking, &verifier, &v2_verifier, &metrics, spool_dir});
  // Before any listener: /_annex/ca.pem is served from the first request on.
  edge.SetCaCertificate(tls.ca_pem);
  // Workloads are limited through cgroups; say which hierarchy this machine offers.
  edge.AddHealthNote("cgroups " + cgroup_note + (workloads_note.empty() ? "" : "; " + workloads_note));
  for (auto& m : modules) edge.AddService(m.service.get());
  edge.AddService(iam_service.get());
  edge.AddService(sts_service.get());
  edge.AddService(admin.get());
  scheduler->Start();
  event_bus.Start();
  if (output_forwarder) output_forwarder->Start();

  // One io_context per io thread; connections never change threads.
  std::vector<std::unique_ptr<boost::asio::io_context>> owned;
  std::vector<boost::asio::io_context*> contexts;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards;
  for (unsigned i = 0; i < config.io_threads; ++i) {
    owned.push_back(std::make_unique<boost::asio::io_context>(1));
    contexts.push_back(owned.back().get());
    guards.push_back(boost::asio::make_work_guard(*owned.back()));
  }
  boost::asio::io_context& io = *contexts.front();
  http::ServerOptions server_options = ServerOptionsFor(config);
  http::HttpServer plain(contexts, edge, server_options);
  http::HttpServer secure(contexts, edge, server_options);
  std::vector<http::HttpServer*> servers{&plain, &secure};
  ANNEX_ASSIGN_OR_RETURN(uint16_t port, plain.Listen(config.listen, nullptr));
  for (const auto& address : config.tls_listen) {
    ANNEX_ASSIGN_OR_RETURN(uint16_t tls_port, secure.Listen(address, tls.context.get()));
    log::Info("https listening", {{"address", address}, {"port", std::to_string(tls_port)}});
  }
  // The appliance's own clients: TLS on an ephemeral loopback port, and
  // plain HTTP on loopback too when the API listener does not take it.
  ANNEX_ASSIGN_OR_RETURN(uint16_t own_tls_port, secure.Listen("127.0.0.1:0", tls.context.get()));
  log::Info("https for the appliance's own clients",
            {{"address", "127.0.0.1"}, {"port", std::to_string(own_tls_port)}});
  uint16_t own_http_port = port;
  if (!TakesLoopback(config.listen)) {
    ANNEX_ASSIGN_OR_RETURN(own_http_port, plain.Listen("127.0.0.1:0", nullptr));
    log::Info("http for the appliance's own clients",
              {{"address", "127.0.0.1"}, {"port", std::to_string(own_http_port)}});
  }
  endpoints.http_port = own_http_port;
  endpoints.tls_port = own_tls_port;

  size_t abandoned = 0;  // requests cut off by shutdown
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) StartShutdown(contexts, servers, edge, std::chrono::milliseconds(config.drain_timeout_ms), abandoned);
  });
  edge.SetReady(true);
  std::string endpoint = ClientEndpoint("http", config.listen, port);
  log::Info("annexd ready", {{"endpoint", endpoint}, {"port", std::to_string(port)}, {"data_dir", config.data_dir},
                             {"region", config.region},
                             {"credentials", root.credentials_file.empty() ? "environment" : root.credentials_file}});
  if (!root.credentials_file.empty()) {
    log::Info("try it", {{"command", "AWS_SHARED_CREDENTIALS_FILE=" + root.credentials_file +
                                         " AWS_PROFILE=annex AWS_DEFAULT_REGION=" + config.region +
                                         " aws --endpoint-url " + endpoint + " s3 ls"}});
  }

  std::vector<std::thread> threads;
  for (size_t i = 1; i < contexts.size(); ++i) threads.emplace_back([c = contexts[i]] { RunGuarded(*c); });
  RunGuarded(io);
  for (auto& t : threads) t.join();
  // Stop order: the sync link first (its agent reads and writes through the
  // services), then scheduled work and event delivery, then blocking work,
  // then the services in reverse start order, then the output forwarder.
  sync_link.reset();
  scheduler->Stop();
  event_bus.Stop();
  blocking.Stop();
  admin->Stop();
  iam_service->Stop();
  for (auto it = modules.rbegin(); it != modules.rend(); ++it) it->service->Stop();
  if (output_forwarder) output_forwarder->Stop();  // workloads run on; their output waits in files
  ::close(lock_fd);
  if (abandoned > 0) {
    log::Warn("annexd stopped; in-flight requests were abandoned", {{"abandoned", std::to_string(abandoned)}});
  } else {
    log::Info("annexd stopped cleanly");
  }
  return Status::OK();
}

}  // namespace annex::daemon
