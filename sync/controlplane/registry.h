#pragma once
// Registry: annex-control's durable state, in its own LMDB environment.
// It knows the sites an operator created and their one-time enrollment
// tokens (only a hash of each secret is stored), the availability zone each
// enrolled appliance became, its sessions, heartbeats and capacity, the
// resources, usage and events it reported (applied exactly once, in outbox
// order; usage and events with bounded retention per zone), and the
// commands waiting for it.
//
// Every mutation is durable (fsynced) before it returns OK. The frequent ones
// (sessions, heartbeats, records, command changes) share group commits: many
// sessions' writes, one transaction and one flush (store/group_commit.h). Times are passed in as unix milliseconds, so callers and tests
// own the clock. Zone state is never stored: it is computed at read time from
// the silence since the last heartbeat (zone.h).
//
// Thread safety: thread-safe. Read-modify-write steps happen inside one write
// transaction, and LMDB admits one writer at a time, so no extra lock is
// needed; reads see a consistent snapshot.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/store/group_commit.h"
#include "appliance/store/lmdb_env.h"
#include "sync/common/appliance_event.h"
#include "sync/common/enrollment_token.h"
#include "sync/common/usage.h"
#include "sync/common/zone.h"

namespace annex::sync {

struct Site {
  std::string name;
  std::string zone;
  int64_t created_unix_ms = 0;
  bool enrolled = false;
};

struct ZoneStatus {
  std::string zone;
  std::string site;
  int64_t enrolled_unix_ms = 0;
  int64_t last_heartbeat_unix_ms = 0;   // 0: never
  int64_t connected_since_unix_ms = 0;  // 0: not connected now
  ZoneCapacity capacity;
  std::string agent_version;
  std::string cert_serial;                    // of the appliance's current client certificate
  uint64_t last_applied_seq = 0;              // highest outbox record applied (exactly-once)
  ZoneState state = ZoneState::kUnavailable;  // computed at read time from last heartbeat
};

struct ResourceState {
  std::string type;
  std::string id;
  std::string state_json;
  uint64_t version = 0;
  int64_t updated_unix_ms = 0;
  bool deleted = false;
};

// One usage period an appliance reported.
struct UsageEntry {
  uint64_t seq = 0;  // the outbox record that carried it
  UsagePeriod period;
};

// The control plane's own record of a zone's link (History), as opposed to
// the events an appliance reports (ApplianceEvent):
// "enrolled", "connected", "disconnected", "rejected", "token-reissued", "cert-rotated".
struct ConnectionEvent {
  int64_t unix_ms = 0;
  std::string event;
  std::string detail;
};

struct Command {
  std::string id;
  std::string zone;
  std::string kind;
  std::string args_json;
  std::string state;  // "pending", "delivered", "succeeded", "failed"
  std::string result;
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
};

class Registry {
 public:
  // Events kept per zone; older ones are dropped as new ones arrive.
  static constexpr uint64_t kMaxHistory = 1000;
  // Usage periods and appliance events kept per zone, the same way: about
  // a week of minutes, and the latest thousand events.
  static constexpr uint64_t kMaxUsagePeriods = 10'000;
  static constexpr uint64_t kMaxApplianceEvents = 1'000;

  // Opens (creating) the registry in directory `dir`. A registry belongs to
  // one region for life, since zone names embed it: FailedPrecondition when
  // `dir` holds another region's registry, InvalidArgument for a bad name.
  static Result<std::unique_ptr<Registry>> Open(const std::string& dir, std::string region);
  ~Registry();
  const std::string& region() const { return region_; }

  // Sites and one-time enrollment tokens --------------------------------------

  // Creates `site` and returns its token; only SecretHash(token.secret) is
  // stored. AlreadyExists for a known site, unless the site has not enrolled
  // yet and `replace_token` is set: then a new token replaces the old one.
  // InvalidArgument for a bad site name or CA fingerprint.
  Result<EnrollmentToken> CreateSite(std::string_view site, std::string_view ca_sha256, int64_t now_unix_ms,
                                     bool replace_token = false);
  // Consumes the token: OK once for a valid, unused token of a known site,
  // returning the zone name ZoneName(region, site). PermissionDenied for an
  // unknown site, a wrong secret or a used token (a known zone logs
  // "rejected"). On success the zone exists, enrolled at `now_unix_ms` with
  // certificate `cert_serial`, and logs "enrolled". A re-enrollment (after
  // ReissueToken) keeps everything else, last_applied_seq included.
  Result<std::string> ConsumeToken(const EnrollmentToken& token, std::string_view cert_serial, int64_t now_unix_ms);
  // A fresh token for an enrolled site (an appliance whose certificate
  // expired offline); the next ConsumeToken for the site replaces its
  // certificate serial. NotFound for an unknown site; FailedPrecondition for
  // one not enrolled yet (use CreateSite with replace_token).
  Result<EnrollmentToken> ReissueToken(std::string_view site, std::string_view ca_sha256, int64_t now_unix_ms);
  // After a certificate rotation. NotFound for an unknown zone.
  Status SetCertSerial(std::string_view zone, std::string_view serial, int64_t now_unix_ms = 0);

  // Sessions and heartbeats (NotFound for unknown zones) -----------------------

  // Returns the session's number (1, 2, ...). Pass it to MarkDisconnected so a
  // late disconnect of a superseded session (the appliance reconnected before
  // the old stream was torn down) does not mark the new one disconnected.
  Result<uint64_t> MarkConnected(std::string_view zone, std::string_view agent_version, int64_t now_unix_ms);
  // `session` 0: whichever session is current.
  Status MarkDisconnected(std::string_view zone, std::string_view why, int64_t now_unix_ms, uint64_t session = 0);
  Status RecordHeartbeat(std::string_view zone, const ZoneCapacity& capacity, int64_t now_unix_ms);

  // Exactly-once outbox records ------------------------------------------------

  // What applying one record does, inside the registry's write transaction.
  // It must not write the zone's own row (the seq bump stores it afterwards).
  using ApplyFn = std::function<Status(store::WriteTxn& txn)>;
  // Applies outbox record `seq` of `zone` exactly once. If seq ==
  // last_applied_seq + 1, `apply` runs in the same write transaction as the
  // seq bump (a crash never separates them) and the result is true; an error
  // from `apply` aborts both. If seq <= last_applied_seq the record is a
  // duplicate: nothing happens and the result is false (the caller still
  // acknowledges it). A gap (seq > last + 1) is FailedPrecondition; seq 0 is
  // InvalidArgument.
  Result<bool> ApplyRecord(std::string_view zone, uint64_t seq, const ApplyFn& apply);
  // ApplyRecord with a resource upsert. Versions only move forward per
  // (type, id): an older or equal version is ignored but still counts as
  // applied. A deletion is kept as a tombstone (deleted = true) so a late
  // older version cannot resurrect the resource. updated_unix_ms defaults to
  // `now_unix_ms` when the record carries none. InvalidArgument for an empty
  // type or id, or one holding a NUL byte.
  Result<bool> ApplyResourceRecord(std::string_view zone, uint64_t seq, const ResourceState& resource,
                                   int64_t now_unix_ms);
  // ApplyRecord storing a usage period; beyond kMaxUsagePeriods for the zone
  // the one that ended first is dropped. InvalidArgument for a period that
  // ends before it starts or starts before 1970, or a service name that is
  // empty or longer than 64 bytes.
  Result<bool> ApplyUsageRecord(std::string_view zone, uint64_t seq, const UsagePeriod& usage);
  // ApplyRecord storing an appliance event (its seq is `seq`); beyond
  // kMaxApplianceEvents for the zone the oldest is dropped. InvalidArgument
  // for a severity other than info/warning/error, a kind that is not 1-64 of
  // [a-z0-9-], or a message over kMaxEventMessageBytes.
  Result<bool> ApplyEventRecord(std::string_view zone, uint64_t seq, const ApplianceEvent& event);

  // Commands: the desired state sent to a zone ---------------------------------

  // Creates a "pending" command. `command_id` empty: a random "cmd-<16 hex>".
  // Idempotent by id: creating an existing id returns the existing command
  // (AlreadyExists if that command has another zone, kind or arguments).
  // The zone may belong to a site that has not enrolled yet: its commands
  // wait for the appliance's first session (zero-touch provisioning).
  // NotFound for an unknown zone; InvalidArgument for a malformed id.
  Result<Command> CreateCommand(std::string_view zone, std::string_view kind, std::string_view args_json,
                                int64_t now_unix_ms, std::string_view command_id = {});
  // Pending and delivered-but-unfinished commands, oldest first.
  Result<std::vector<Command>> PendingCommands(std::string_view zone) const;
  // The command, or nullopt.
  Result<std::optional<Command>> GetCommand(std::string_view command_id) const;
  // pending -> delivered; delivering again (after a reconnect) is OK.
  // FailedPrecondition for a finished command. With `zone` set, a command of
  // another zone is NotFound, as is an unknown id.
  Status MarkDelivered(std::string_view command_id, int64_t now_unix_ms, std::string_view zone = {});
  // pending/delivered -> succeeded/failed with `result`. Reporting the same
  // outcome again is OK and changes nothing; the other outcome is
  // FailedPrecondition. `zone` as for MarkDelivered.
  Status FinishCommand(std::string_view command_id, bool ok, std::string_view result, int64_t now_unix_ms,
                       std::string_view zone = {});
  // Every command of the zone, oldest first.
  Result<std::vector<Command>> ListCommands(std::string_view zone) const;
  // Blocks until a command is created through this Registry object after
  // `seen_generation` was returned, or `timeout` passes; returns the current
  // generation. Sessions wait here instead of polling. Commands created by
  // another process are not signalled: waiters still re-check on timeout.
  uint64_t WaitForCommands(uint64_t seen_generation, std::chrono::milliseconds timeout) const;

  // Reads for the operator API -------------------------------------------------

  Result<std::vector<Site>> ListSites() const;  // by name
  // By zone name; state computed with StateAfterSilence.
  Result<std::vector<ZoneStatus>> ListZones(int64_t now_unix_ms) const;
  Result<std::optional<ZoneStatus>> GetZone(std::string_view zone, int64_t now_unix_ms) const;
  // Sorted by (type, id). NotFound for an unknown zone.
  Result<std::vector<ResourceState>> ListResources(std::string_view zone, bool include_deleted = false) const;
  // The last `max` events, newest last. NotFound for an unknown zone.
  Result<std::vector<ConnectionEvent>> History(std::string_view zone, size_t max) const;
  // The newest `max` usage periods that ended after `since_unix_ms`, in the
  // order they ended (then by seq). NotFound for an unknown zone.
  Result<std::vector<UsageEntry>> ListUsage(std::string_view zone, int64_t since_unix_ms, size_t max) const;
  // The last `max` appliance events, newest last. NotFound for an unknown zone.
  Result<std::vector<ApplianceEvent>> ListApplianceEvents(std::string_view zone, size_t max) const;

 private:
  struct Tables {
    store::Table meta, sites, zones, resources, events, commands, zone_commands, pending_commands;
    store::Table usage, appliance_events, row_counts;
  };
  // What a command's finish or delivery does to it; false: nothing to store.
  using CommandChange = std::function<Result<bool>(Command& command)>;

  Registry(std::unique_ptr<store::LmdbEnv> env, const Tables& tables, std::string region);
  // Runs `op` in a group-committed write transaction; an error from `op`
  // rolls back its own writes only.
  Status Write(const store::GroupCommitter::Operation& op);
  void NotifyCommands();
  Status ChangeCommand(std::string_view command_id, std::string_view zone, const CommandChange& change);
  Result<std::vector<Command>> ScanCommands(store::Table index, std::string_view zone) const;
  // A zone that enrolled, or the zone-to-be of a site that has not.
  Result<bool> ZoneKnown(const store::ReadTxn& txn, std::string_view zone) const;

  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<store::GroupCommitter> committer_;
  Tables t_;
  std::string region_;
  mutable std::mutex commands_mu_;
  mutable std::condition_variable commands_cv_;
  uint64_t commands_generation_ = 0;
};

}  // namespace annex::sync
