#pragma once
// The sync agent: the appliance's side of the control-plane link, run inside
// annexd on its own thread. Offline first: local services never wait for it.
//
//  - Enrolls with the token (trusting the control plane by the token's CA
//    pin) and keeps its key, certificate, CA and the control plane's address
//    in one identity file (identity.h). Renews the certificate at a random
//    point in 70-90 % of its lifetime, before it can lapse.
//  - Re-enrolls when told to (replace_identity): a new key and certificate
//    for the same zone, the outbox kept, so records not yet acknowledged
//    are delivered with the new certificate. A token for another zone
//    starts the outbox over, since that zone has applied nothing.
//  - A certificate that expired (offline through its renewal window) is
//    never offered: the agent says in last_error how to re-enroll, keeps
//    recording changes, and waits.
//  - Holds one session at a time, reconnecting with jittered exponential
//    backoff. A session: Hello → Welcome (which says what the control plane
//    already applied) → unacknowledged outbox records, in order → then new
//    records as they appear, heartbeats every `heartbeat`, and commands
//    executed as they arrive, each answered with its result.
//  - Every heartbeat (and at start) each service's resource feed is read
//    from where the agent left it; the changes become versioned resource
//    records in the durable outbox, written in one commit with the feed's
//    new position, so changes made while offline are sent after reconnect,
//    each once. Nothing is rescanned: a quiet appliance with many resources
//    costs one small read per service.
//  - Every `usage_interval`, online or not, one usage record with what the
//    services did since the previous one (usage_meter.h); and at the end,
//    one for the last partial period.
//  - Event records for what the operator should know: the agent's own
//    ("agent-started", "enrolled", "re-enrolled", "certificate-renewed",
//    "certificate-expired"), the owner's through RecordEvent, and those
//    `periodic_events` finds every usage interval.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/result.h"
#include "sync/agent/identity.h"
#include "sync/agent/command_queue.h"
#include "sync/agent/outbox.h"
#include "sync/agent/usage_meter.h"
#include "sync/common/appliance_event.h"
#include "sync/common/backoff.h"
#include "sync/common/zone.h"

namespace annex::sync {

// A service's resource changes as the agent reads them (the sync side of
// appliance/service/service_control.h).
struct ResourceChange {
  std::string type;  // "bucket"
  std::string id;
  std::string state_json;
  uint64_t version = 0;  // per resource, growing
  bool deleted = false;
};

struct ResourcePage {
  std::vector<ResourceChange> changes;
  uint64_t cursor = 0;  // where the next read goes on
  bool more = false;
};

struct ResourceSource {
  std::string name;  // the service ("s3"); the agent keeps its position under this name
  // Changes after `cursor` (0: every resource), at most `max`.
  std::function<Result<ResourcePage>(uint64_t cursor, size_t max)> read;
};

using AgentCapacity = ZoneCapacity;

struct AgentOptions {
  std::string state_dir;         // identity/ and outbox/ live here
  std::string control_plane;     // HOST:PORT of annex-control's sync port
  std::string enrollment_token;  // used once, when no identity exists yet (or replace_identity)
  // Enroll with the token even though an identity exists. The old identity
  // stays in use until the control plane has issued the new certificate.
  bool replace_identity = false;
  std::string agent_version = "annexd";
  std::chrono::milliseconds heartbeat{10'000};
  BackoffPolicy backoff;
  std::vector<ResourceSource> resources;
  // Applies a command idempotently; the text is reported back as its result.
  std::function<Result<std::string>(const std::string& kind, const std::string& args_json)> execute;
  std::function<AgentCapacity()> capacity;
  std::function<int64_t()> now_unix_ms;
  // Usage records come from here; none without a meter. Shared, so an agent
  // restarted in the same process goes on where the previous one stopped.
  std::shared_ptr<UsageMeter> usage;
  std::chrono::milliseconds usage_interval{60'000};
  // Looked at every usage_interval: events to record now (severity, kind and
  // message; the agent stamps the time), e.g. annexd's disk-low warning.
  std::function<std::vector<ApplianceEvent>()> periodic_events;
};

struct AgentStatus {
  bool enrolled = false;
  // An enrollment token is waiting to be used: being tried, or retried while
  // the control plane cannot be reached. A refused token is dropped.
  bool enrolling = false;
  std::string enrollment_error;  // why the last try with the token failed; empty once enrolled with it
  std::string zone;
  std::string control_plane;            // the address in use
  int64_t connected_since_unix_ms = 0;  // 0: not connected
  uint64_t outbox_depth = 0;
  uint64_t last_sequence = 0;
  uint64_t last_acknowledged = 0;
  int64_t certificate_not_after_unix = 0;
  bool certificate_expired = false;
  std::string last_error;
};

class Agent {
 public:
  // Opens the state (outbox, identity if enrolled) and starts the agent's thread.
  static Result<std::unique_ptr<Agent>> Start(AgentOptions options);
  ~Agent();  // ends the session and joins the thread
  Agent(const Agent&) = delete;

  AgentStatus status() const;
  // Records resource changes into the outbox now (the agent also does it every heartbeat).
  Status SyncResources();
  // Appends an event record, delivered like every record: once, in order,
  // whenever the control plane is reachable. InvalidArgument for a severity
  // other than "info", "warning" or "error", or a kind that is not 1-64 of
  // [a-z0-9-]. A message longer than kMaxEventMessageBytes is cut short.
  Status RecordEvent(std::string_view severity, std::string_view kind, std::string_view message);

 private:
  explicit Agent(AgentOptions options);
  void Run();
  Status EnrollWithToken();
  Status AdoptEnrollment(Identity next);
  Status StartNewHistory();
  Status MigrateReportedFile();
  void SyncResourcesOrLog();
  bool Enrolling() const;
  bool HasIdentity() const;
  bool CertificateExpired();
  Status RenewIfDue();
  void ReadCertificateDates();  // of identity_; mu_ held
  void Session();
  void SleepFor(std::chrono::milliseconds d);
  void SetError(const std::string& e);
  // The agent's own events and the periodic work: failures are logged, never fatal.
  void RecordEventOrLog(std::string_view severity, std::string_view kind, const std::string& message);
  void RecordUsage();
  void RecordPeriodicIfDue();  // usage and periodic_events, every usage_interval

  AgentOptions options_;  // control_plane changes only on the agent's thread, under mu_
  std::unique_ptr<Outbox> outbox_;
  Backoff backoff_;
  std::mutex resources_mu_;  // one reader of the feeds at a time
  std::string resources_error_;  // the last failure logged; the agent's thread only
  std::chrono::steady_clock::time_point next_usage_;  // the agent's thread only

  mutable std::mutex mu_;  // identity, status fields, the current session's context
  std::optional<Identity> identity_;
  bool enrolling_ = false;
  std::string enrollment_error_;
  bool expiry_reported_ = false;
  int64_t cert_not_after_ = 0;
  int64_t renew_at_ = 0;  // unix seconds
  int64_t connected_since_ = 0;
  std::string last_error_;
  void* session_context_ = nullptr;  // grpc::ClientContext of the live session (cancelled on stop)

  CommandQueue commands_;  // runs commands off the session's reader

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace annex::sync
