#include "appliance/daemon/sync_link.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/http/server.h"
#include "appliance/os/file_system.h"
#include "sync/agent/identity.h"
#include "sync/common/enrollment_token.h"
#include "sync/common/pki.h"

namespace annex::daemon {
namespace {

constexpr double kLowDiskFreeFraction = 0.10;
// The appliance's own endpoints (health, metrics, the admin API): not usage.
constexpr std::string_view kApplianceService = "annex";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct DiskSpace {
  uint64_t bytes = 0;  // 0: unknown
  uint64_t free_bytes = 0;
};

// Free as an unprivileged writer sees it (f_bavail): the root reserve is not annexd's.
DiskSpace DiskSpaceOf(const std::string& dir) {
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) != 0) return {};
  return {static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize, static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize};
}

sync::AgentCapacity MachineCapacity(const std::string& data_dir,
                                    const std::vector<service::ServiceControl*>& controls) {
  sync::AgentCapacity c;
  c.cpus = std::thread::hardware_concurrency();
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) c.memory_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  DiskSpace disk = DiskSpaceOf(data_dir);
  c.disk_bytes = disk.bytes;
  c.disk_free_bytes = disk.free_bytes;
  c.services = {"iam"};
  for (auto* control : controls) {
    c.services.emplace_back(control->service());
    for (auto& command : control->Commands()) {
      c.commands.push_back({std::move(command.kind), std::string(control->service()), std::move(command.args_schema_json)});
    }
  }
  return c;
}

// The usage record still carries stored bytes and objects as fields of its
// own: the services' gauges of those names fill them.
sync::UsageSample UsageOf(const Metrics& metrics, const std::vector<service::ServiceControl*>& controls) {
  sync::UsageSample sample;
  for (const auto& [service, t] : metrics.Totals()) {
    if (service != kApplianceService) sample.by_service[service] = {t.requests, t.bytes_in, t.bytes_out};
  }
  for (auto* control : controls) {
    auto& named = sample.gauges[std::string(control->service())];
    for (const auto& [name, value] : control->Gauges()) {
      named[name] = value;
      if (name == "bytes_stored") sample.bytes_stored += value;
      if (name == "objects_stored") sample.objects_stored += value;
    }
  }
  return sample;
}

// A "disk-low" warning when the data dir's disk has just dropped below the threshold.
std::vector<sync::ApplianceEvent> DiskEvents(const std::string& data_dir, LowDiskAlarm& alarm) {
  DiskSpace disk = DiskSpaceOf(data_dir);
  if (!alarm.Crossed(disk.bytes, disk.free_bytes)) return {};
  double percent = 100.0 * static_cast<double>(disk.free_bytes) / static_cast<double>(disk.bytes);
  char text[160];
  std::snprintf(text, sizeof text, "%.1f %% free under the data dir (%llu of %llu bytes), below %.0f %%", percent,
                static_cast<unsigned long long>(disk.free_bytes), static_cast<unsigned long long>(disk.bytes),
                kLowDiskFreeFraction * 100);
  log::Warn("disk low", {{"data_dir", data_dir}, {"detail", text}});
  sync::ApplianceEvent event;
  event.severity = "warning";
  event.kind = "disk-low";
  event.message = std::string(text) + ": " + data_dir;
  return {event};
}

// A client's address of the control plane: HOST:PORT, both present.
Status CheckControlPlaneAddress(const std::string& address) {
  auto hp = http::ParseHostPort(address);
  if (address.empty() || address.front() == ':' || !hp.ok() || hp->second == 0) {
    return Status::InvalidArgument("control_plane must be HOST:PORT (annex-control's sync port), got '" + address +
                                   "'");
  }
  return Status::OK();
}

// What an enrolled appliance without a control plane address reports.
sync::AgentStatus IdleStatus(const sync::Identity& identity) {
  sync::AgentStatus s;
  s.enrolled = true;
  s.zone = identity.zone;
  auto cert = sync::ReadCert(identity.cert_pem);
  if (cert.ok()) {
    s.certificate_not_after_unix = cert->not_after_unix;
    s.certificate_expired = NowMs() / 1000 >= cert->not_after_unix;
  }
  s.last_error =
      "not syncing: no control plane address (start annexd with --control-plane HOST:PORT, or run "
      "`annexctl sync enroll`)";
  return s;
}

}  // namespace

SyncLink::SyncLink(const Config& config, std::vector<service::ServiceControl*> controls, const Metrics& metrics)
    : state_dir_(os::JoinPath(config.data_dir, "sync")),
      data_dir_(config.data_dir),
      heartbeat_ms_(config.sync_heartbeat_ms),
      usage_interval_ms_(config.sync_usage_interval_ms),
      controls_(std::move(controls)),
      usage_(std::make_shared<sync::UsageMeter>([&metrics, this] { return UsageOf(metrics, controls_); }, NowMs())),
      disk_alarm_(std::make_shared<LowDiskAlarm>(kLowDiskFreeFraction)) {}

Result<std::unique_ptr<SyncLink>> SyncLink::Start(const Config& config,
                                                  std::vector<service::ServiceControl*> controls,
                                                  const Metrics& metrics) {
  std::unique_ptr<SyncLink> link(new SyncLink(config, std::move(controls), metrics));
  Result<std::optional<sync::Identity>> identity = sync::LoadIdentity(link->state_dir_);
  std::string remembered = identity.ok() && *identity ? (*identity)->control_plane : "";
  // Flags, environment and config file win: the remembered address is what
  // the appliance enrolled at, which an operator may have to override.
  std::string control_plane = config.control_plane.empty() ? remembered : config.control_plane;
  if (!config.control_plane.empty() && !remembered.empty() && remembered != config.control_plane) {
    log::Info("sync: --control-plane overrides the address enrolled at",
              {{"control_plane", config.control_plane}, {"enrolled_at", remembered}});
  }
  if (control_plane.empty()) {
    // Serving comes first: an enrolled appliance without its control plane's
    // address (or with a damaged identity) still serves, it just does not sync.
    if (!identity.ok()) {
      log::Warn("sync: cannot read the identity; not syncing", {{"error", identity.status().message()}});
      link->idle_status_.last_error = identity.status().message();
    } else if (*identity) {
      log::Warn("sync: enrolled but no control plane address; not syncing", {{"state", link->state_dir_}});
      link->idle_status_ = IdleStatus(**identity);
    }
    return link;
  }
  ANNEX_ASSIGN_OR_RETURN(link->agent_,
                         sync::Agent::Start(link->AgentOptionsFor(control_plane, config.enrollment_token)));
  return link;
}

SyncLink::~SyncLink() = default;

sync::AgentOptions SyncLink::AgentOptionsFor(const std::string& control_plane, const std::string& token) const {
  sync::AgentOptions o;
  o.state_dir = state_dir_;
  o.control_plane = control_plane;
  o.enrollment_token = token;
  o.agent_version = "annexd";
  o.heartbeat = std::chrono::milliseconds(heartbeat_ms_);
  for (auto* control : controls_) {
    o.resources.push_back({std::string(control->service()),
                           [control](uint64_t cursor, size_t max) -> Result<sync::ResourcePage> {
                             ANNEX_ASSIGN_OR_RETURN(service::ResourceChanges changes,
                                                    control->ChangesSince(cursor, max));
                             sync::ResourcePage page;
                             page.cursor = changes.cursor;
                             page.more = changes.more;
                             page.changes.reserve(changes.changes.size());
                             for (auto& c : changes.changes) {
                               page.changes.push_back(
                                   {std::move(c.kind), std::move(c.id), std::move(c.state_json), c.version, c.deleted});
                             }
                             return page;
                           }});
  }
  o.execute = [controls = controls_](const std::string& kind, const std::string& args) -> Result<std::string> {
    for (auto* control : controls) {
      for (const auto& command : control->Commands()) {
        if (command.kind == kind) return control->Execute(kind, args);
      }
    }
    return Status::InvalidArgument("unknown command " + kind);
  };
  o.capacity = [data_dir = data_dir_, controls = controls_] { return MachineCapacity(data_dir, controls); };
  o.now_unix_ms = NowMs;
  o.usage = usage_;
  o.usage_interval = std::chrono::milliseconds(usage_interval_ms_);
  o.periodic_events = [data_dir = data_dir_, alarm = disk_alarm_] { return DiskEvents(data_dir, *alarm); };
  return o;
}

Status SyncLink::Enroll(const SyncEnrollRequest& request) {
  ANNEX_RETURN_IF_ERROR(CheckControlPlaneAddress(request.control_plane));
  auto token = sync::ParseToken(request.token);
  if (!token.ok()) return Status::InvalidArgument("not an enrollment token: " + token.status().message());

  std::lock_guard enrolling(enroll_mu_);
  ANNEX_ASSIGN_OR_RETURN(std::optional<sync::Identity> identity, sync::LoadIdentity(state_dir_));
  if (identity && !request.force) {
    auto cert = sync::ReadCert(identity->cert_pem);
    if (cert.ok() && NowMs() / 1000 < cert->not_after_unix) {
      return Status::AlreadyExists("this appliance is already enrolled as zone " + identity->zone +
                                   ", with a certificate valid until " + FormatIso8601Ms(cert->not_after_unix * 1000) +
                                   "; to enroll again with a new key and certificate, add --force");
    }
  }
  std::unique_ptr<sync::Agent> previous;
  {
    std::lock_guard lock(mu_);
    previous = std::move(agent_);
    if (previous) {
      idle_status_ = previous->status();
      idle_status_.connected_since_unix_ms = 0;
    }
  }
  previous.reset();  // ends its session and joins its thread: one agent per outbox

  sync::AgentOptions options = AgentOptionsFor(request.control_plane, request.token);
  options.replace_identity = true;
  auto started = sync::Agent::Start(std::move(options));
  std::lock_guard lock(mu_);
  if (!started.ok()) {
    idle_status_.last_error = "the sync agent did not start: " + started.status().message();
    return started.status();
  }
  agent_ = std::move(*started);
  log::Info(
      "sync: enrolling",
      {{"control_plane", request.control_plane}, {"site", token->site}, {"replacing", identity ? identity->zone : ""}});
  return Status::OK();
}

sync::AgentStatus SyncLink::CurrentStatus() const {
  std::lock_guard lock(mu_);
  if (!agent_) return idle_status_;
  return agent_->status();
}

std::string SyncLink::StatusJson() const {
  sync::AgentStatus s = CurrentStatus();
  nlohmann::json j = nlohmann::json::object();
  j["enrolled"] = s.enrolled;
  j["enrolling"] = s.enrolling;
  j["enrollment_error"] = s.enrollment_error;
  j["zone"] = s.zone;
  j["control_plane"] = s.control_plane;
  j["connected"] = s.connected_since_unix_ms != 0;
  j["connected_since"] = FormatIso8601Ms(s.connected_since_unix_ms);
  j["outbox_depth"] = s.outbox_depth;
  j["last_sequence"] = s.last_sequence;
  j["last_acknowledged"] = s.last_acknowledged;
  j["certificate_expires"] = FormatIso8601Ms(s.certificate_not_after_unix * 1000);
  j["certificate_expired"] = s.certificate_expired;
  j["last_error"] = s.last_error;
  return j.dump(2) + "\n";
}

void SyncLink::RenderMetrics(std::string& out) const {
  sync::AgentStatus s = CurrentStatus();
  auto gauge = [&out](const char* name, const char* help, double value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
           std::to_string(value) + "\n";
  };
  gauge("annex_sync_enrolled", "1 once the appliance has enrolled with a control plane.", s.enrolled ? 1 : 0);
  gauge("annex_sync_connected", "1 while a session with the control plane is up.", s.connected_since_unix_ms ? 1 : 0);
  gauge("annex_sync_outbox_depth", "Records waiting for the control plane's acknowledgement.",
        static_cast<double>(s.outbox_depth));
  gauge("annex_sync_last_acknowledged_sequence", "Highest outbox sequence number acknowledged.",
        static_cast<double>(s.last_acknowledged));
  gauge("annex_sync_certificate_expiry_timestamp_seconds", "When the appliance's client certificate expires.",
        static_cast<double>(s.certificate_not_after_unix));
}

}  // namespace annex::daemon
