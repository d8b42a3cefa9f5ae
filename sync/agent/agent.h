#pragma once
// The sync agent: the appliance's side of the control-plane link, run inside
// annexd on its own thread. Offline first: local services never wait for it.
//
//  - Enrolls once with the token (trusting the control plane by the token's
//    CA pin) and keeps its key, certificate and CA under `state_dir`
//    (identity/identity.json, replaced atomically). Renews the certificate
//    at a random point in 70-90 % of its lifetime, before it can lapse.
//  - Holds one session at a time, reconnecting with jittered exponential
//    backoff. A session: Hello → Welcome (which says what the control plane
//    already applied) → unacknowledged outbox records, in order → then new
//    records as they appear, heartbeats every `heartbeat`, and commands
//    executed as they arrive, each answered with its result.
//  - Every heartbeat (and at start) the inventory is compared with what was
//    last reported; changes become versioned resource records in the
//    durable outbox, so changes made while offline are sent after reconnect,
//    and only those.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/result.h"
#include "sync/agent/outbox.h"
#include "sync/common/backoff.h"
#include "sync/common/zone.h"

namespace annex::sync {

struct InventoryItem {
  std::string type;  // "bucket"
  std::string id;
  std::string state_json;
};

using AgentCapacity = ZoneCapacity;

struct AgentOptions {
  std::string state_dir;         // identity/ and outbox/ live here
  std::string control_plane;     // HOST:PORT of annex-control's sync port
  std::string enrollment_token;  // used once, when no identity exists yet
  std::string agent_version = "annexd";
  std::chrono::milliseconds heartbeat{10'000};
  BackoffPolicy backoff;
  std::function<std::vector<InventoryItem>()> inventory;
  // Applies a command idempotently; the text is reported back as its result.
  std::function<Result<std::string>(const std::string& kind, const std::string& args_json)> execute;
  std::function<AgentCapacity()> capacity;
  std::function<int64_t()> now_unix_ms;
};

struct AgentStatus {
  bool enrolled = false;
  std::string zone;
  int64_t connected_since_unix_ms = 0;  // 0: not connected
  uint64_t outbox_depth = 0;
  uint64_t last_sequence = 0;
  uint64_t last_acknowledged = 0;
  int64_t certificate_not_after_unix = 0;
  std::string last_error;
};

class Agent {
 public:
  // Opens the state (outbox, identity if enrolled) and starts the agent's thread.
  static Result<std::unique_ptr<Agent>> Start(AgentOptions options);
  ~Agent();  // ends the session and joins the thread
  Agent(const Agent&) = delete;

  AgentStatus status() const;
  // Records inventory changes into the outbox now (the agent also does it every heartbeat).
  Status SyncInventory();

 private:
  explicit Agent(AgentOptions options);
  void Run();
  Status EnsureEnrolled();
  Status RenewIfDue();
  Status SaveIdentity();
  void SetCertificate(const std::string& cert_pem);  // mu_ held
  void Session();
  void SleepFor(std::chrono::milliseconds d);
  void SetError(const std::string& e);

  AgentOptions options_;
  std::unique_ptr<Outbox> outbox_;
  Backoff backoff_;
  std::mutex inventory_mu_;

  mutable std::mutex mu_;  // identity, status fields, the current session's context
  std::string zone_, key_pem_, cert_pem_, ca_pem_;
  int64_t cert_not_after_ = 0;
  int64_t renew_at_ = 0;  // unix seconds
  int64_t connected_since_ = 0;
  std::string last_error_;
  void* session_context_ = nullptr;  // grpc::ClientContext of the live session (cancelled on stop)

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace annex::sync
