#pragma once
// Environment: everything the platform hands a service when it builds it,
// and Module: what a service hands back. A service's folder exports one
// factory, `Result<service::Module> NewModule(const service::Environment&)`;
// the composition root (appliance/daemon/daemon.cc) calls it with an
// environment of the service's own, and that one line is all it takes to add
// a service: the edge routes by its descriptor, the sync link reports
// through its control, and the daemon starts and stops it in order.

#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "appliance/service/metrics_registry.h"
#include "appliance/service/service.h"
#include "appliance/service/service_control.h"

namespace annex::os {
class BlockingPool;
class Clock;
class FileSystem;
}  // namespace annex::os
namespace annex::schedule {
class Scheduler;
}
namespace annex::events {
class EventBus;
}
namespace annex::logs {
class LogStore;
}
namespace annex::iam {
class IdentityStore;
}
namespace annex::supervisor {
class Supervisor;
}
namespace annex::network {
class WorkloadNetwork;
}

namespace annex::service {

class Authorizer;
class ImageStore;
class RoleCredentialSource;
class ServiceUsers;
struct ApplianceEndpoints;

struct Environment {
  std::string data_dir;  // the service's own directory, <data>/<service>; it may not exist yet
  os::FileSystem* fs = nullptr;
  os::Clock* clock = nullptr;
  // The executor for blocking and background work off the io threads
  // (disk writes, a reconciler's pass); recurring work is a schedule.
  os::BlockingPool* blocking = nullptr;
  std::string region;
  // The appliance's DNS domain ("localhost", "annex.example.com"): services
  // with Host-based addressing build their names on it (s3.<domain>).
  std::string domain;
  std::string root_account_id;  // the appliance root: control-plane commands act as it
  // The name or address clients reach this appliance at: the API listener's
  // host, or the machine's name when that listener takes every address.
  // Services that hand out endpoints of their own (a database's
  // Endpoint.Address) name this host.
  std::string host;
  // Accounts, users and their keys: a service with a check of its own
  // (AuthMode::kOwnCheck, the registry's tokens) resolves principals here.
  iam::IdentityStore* identities = nullptr;
  // IAM policy evaluation (authorizer.h): every request a service acts on
  // for a principal is authorized through it.
  const Authorizer* authorizer = nullptr;
  // Temporary credentials of a role for a workload (role_credentials.h).
  RoleCredentialSource* role_credentials = nullptr;
  MetricsRegistry* metrics = nullptr;
  schedule::Scheduler* scheduler = nullptr;
  events::EventBus* events = nullptr;
  // The platform's log store (CloudWatch Logs groups and streams), shared by
  // every service that writes logs; one per appliance.
  logs::LogStore* log_store = nullptr;
  // Runs the service's workloads (containers, databases, functions) so that
  // they outlive annexd; their output reaches the log stream each spec
  // names. Null where the appliance cannot run workloads (annexd without
  // root): a service then refuses to start workloads and says why.
  supervisor::Supervisor* supervisor = nullptr;
  // The bridge network workloads get their own network namespace on (an
  // address, NAT, published host ports); null where the supervisor is.
  network::WorkloadNetwork* network = nullptr;
  // The port of annexd's plain HTTP listener that workloads reach at their
  // gateway address (and the ECS task endpoint at 169.254.170.2:80 leads
  // to); 0 when they cannot reach it.
  uint16_t workload_api_port = 0;
  // The host ports the appliance itself listens on (API, TLS, SSH): never
  // published to a workload.
  std::vector<uint16_t> appliance_ports;
  // annexd's own listeners as this machine reaches them (a loopback TLS
  // listener always among them), filled in once they are up
  // (appliance_endpoints.h); and IAM users a service may own in the root
  // account for helpers of its own (service_users.h).
  const ApplianceEndpoints* endpoints = nullptr;
  ServiceUsers* service_users = nullptr;
  // Runnable root filesystems of the registry's images (image_store.h), for
  // services built after the registry; null before it or without one.
  ImageStore* images = nullptr;
  // How often a service that backs up continuously (a database's WAL
  // archive) marks a point it can restore to; what users see as the lag of
  // LatestRestorableTime. Five minutes, as RDS; tests shorten it.
  std::chrono::milliseconds restore_point_interval{300'000};
  // The appliance's sealing key: a 32-byte file off the data partition that
  // seals the keys services keep on it (the object store's master key).
  std::string sealing_key_file;
  // Benchmarks only (--plaintext-objects): new objects are stored without
  // encryption unless a request asks for it.
  bool plaintext_objects = false;
};

struct Module {
  std::unique_ptr<Service> service;
  std::unique_ptr<ServiceControl> control;  // null: nothing to report to the control plane
  // The images this module serves to workloads (the registry's), owned by
  // the module's service; later modules get it in their Environment.
  ImageStore* images = nullptr;
};

}  // namespace annex::service
