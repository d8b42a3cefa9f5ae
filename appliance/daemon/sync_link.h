#pragma once
// annexd's side of the control-plane link. It runs the sync agent with every
// service's resource change feed and their commands as actions (each
// service's ServiceControl), the API services' request counters (Metrics)
// and the services' gauges as usage, and a "disk-low" event when free space
// under the data dir drops below 10 %. It reports the agent's state for `annexctl sync
// status` (admin API) and /_annex/metrics. Nothing local waits for it.
//
// The control plane's address comes from --control-plane (or its
// environment variable / config file) when given, else from the identity
// the appliance enrolled with, which keeps the address it enrolled at.
// Enroll (annexctl sync enroll) starts or restarts the agent at run time.
//
// Thread-safe: status and metrics are read from io threads while Enroll,
// which may wait for the previous agent to stop, runs on a blocking thread.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/daemon/config.h"
#include "appliance/daemon/low_disk_alarm.h"
#include "appliance/daemon/metrics.h"
#include "appliance/service/service_control.h"
#include "sync/agent/agent.h"

namespace annex::daemon {

struct SyncEnrollRequest {
  std::string control_plane;  // HOST:PORT of annex-control's sync port
  std::string token;          // from `annex-control sites create` or `sites token`
  bool force = false;         // replace an identity whose certificate is still valid
};

class SyncLink {
 public:
  // Without a control plane address (none given, none remembered), a
  // SyncLink that only reports status; an enrolled appliance keeps serving,
  // unsynced, and says so in its log.
  // `metrics` and every control must outlive the SyncLink.
  static Result<std::unique_ptr<SyncLink>> Start(const Config& config,
                                                 std::vector<service::ServiceControl*> controls,
                                                 const Metrics& metrics);
  ~SyncLink();

  // Enrolls now: (re)starts the agent with `request`'s control plane and
  // token. The current identity stays until the control plane has issued the
  // new certificate; the outbox is kept. Returns once the agent runs; its
  // status says when the enrollment succeeded ("enrolling" false,
  // "enrollment_error" empty) or failed.
  // InvalidArgument for a missing or malformed field; AlreadyExists when the
  // appliance is enrolled with a certificate still valid and !force.
  Status Enroll(const SyncEnrollRequest& request);

  // {"enrolled":..., "enrolling":..., "enrollment_error":..., "zone":..., "control_plane":...,
  //  "connected": ..., "connected_since": ..., "outbox_depth":..., "last_sequence":...,
  //  "last_acknowledged":..., "certificate_expires":..., "certificate_expired":..., "last_error":...}
  std::string StatusJson() const;
  void RenderMetrics(std::string& out) const;

 private:
  SyncLink(const Config& config, std::vector<service::ServiceControl*> controls, const Metrics& metrics);
  sync::AgentOptions AgentOptionsFor(const std::string& control_plane, const std::string& token) const;
  sync::AgentStatus CurrentStatus() const;

  const std::string state_dir_;
  const std::string data_dir_;
  const unsigned heartbeat_ms_;
  const unsigned usage_interval_ms_;
  const std::vector<service::ServiceControl*> controls_;
  // Both outlive any one agent: usage counts from annexd's start, and a disk
  // that stays low is reported once, whichever agent looks.
  const std::shared_ptr<sync::UsageMeter> usage_;
  const std::shared_ptr<LowDiskAlarm> disk_alarm_;

  std::mutex enroll_mu_;   // one enrollment at a time
  mutable std::mutex mu_;  // the fields below
  std::unique_ptr<sync::Agent> agent_;
  sync::AgentStatus idle_status_;  // reported while no agent runs
};

}  // namespace annex::daemon
