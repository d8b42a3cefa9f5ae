#pragma once
// Rds: what the database service's handlers, its instance reconciler and its
// control share — the store, the clock, where instances live and how they
// are reached.
//
// The store (a DocumentStore in <data>/database/db) keeps each instance as
// the RDS DBInstance shape it is answered with (rds_xml.h renders it), keyed
// "<account>/<identifier>", plus a private "_annex" member the API never
// shows: what the reconciler needs to act on the instance, and what the user
// asked for that is not applied yet.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "appliance/os/clock.h"
#include "appliance/service/document_store.h"

namespace annex::database {

using Json = nlohmann::json;

// The store's kinds, in the order OpenRdsStore declares their tables.
enum RdsKind : size_t { kInstance, kSnapshot };

Result<std::unique_ptr<service::DocumentStore>> OpenRdsStore(const std::string& dir);

// The private member of every stored document.
inline constexpr const char* kPrivate = "_annex";

class InstanceReconciler;

struct Rds {
  std::string region;
  os::Clock* clock = nullptr;
  std::unique_ptr<service::DocumentStore> store;
  // Where instance directories live: <data>/database/instances/<DbiResourceId>.
  std::string instances_dir;
  // The host clients reach instances at (Endpoint.Address).
  std::string endpoint_host;
  // PostgreSQL's version here ("15.14"), for EngineVersion.
  std::string engine_version;
  // Null when this appliance cannot run instances; `unavailable` says why,
  // and CreateDBInstance answers with it.
  InstanceReconciler* reconciler = nullptr;
  std::string unavailable;
  // Held while an instance is created: its name and port are chosen against all others.
  std::mutex create_mu;
};

// "<account>/<identifier>"
std::string InstanceKey(const std::string& account, const std::string& identifier);
// arn:aws:rds:<region>:<account>:db:<identifier>
std::string InstanceArn(const Rds& rds, const std::string& account, const std::string& identifier);

// An instance's directory (<instances_dir>/<DbiResourceId>), and where a
// password waits for the reconciler to apply it (sequence 0: the master
// password initdb takes), 0600 and never in the store.
std::string InstanceDir(const Rds& rds, const Json& doc);
// Where the instance's WAL lives (<instance dir>/wal, pgdata/pg_wal links to
// it): beside the volume, not on it, so a commit's flush is not also a flush
// of the volume's image file (docs/performance.md).
std::string WalDir(const Rds& rds, const Json& doc);
// The directory of the instance's Unix socket (<instance dir>/run, which
// only its user enters), and its port (Endpoint.Port; 0 before it has one).
std::string SocketDir(const Rds& rds, const Json& doc);
int InstancePort(const Json& doc);
// BackupRetentionPeriod in days, at least 1: what pgBackRest's time
// retention keeps (0, "no backups", is never handed to it).
int RetentionDays(const Json& doc);
std::string PasswordFile(const Rds& rds, const Json& doc, uint64_t seq);

// A DBSnapshot document of `instance` named `id`, "creating" (the manual
// snapshots CreateDBSnapshot and DeleteDBInstance's final snapshot ask the
// reconciler to take).
Json SnapshotDocument(const Rds& rds, const std::string& account, const Json& instance, const std::string& id,
                      const Json& tags, int64_t now_ms);

// A backup set as a snapshot shows it.
struct BackupSet {
  std::string label;
  int64_t start_ms = 0;
  int64_t stop_ms = 0;
  int64_t database_bytes = 0;
  int64_t repo_bytes = 0;
};
// An automated backup of `instance`, listed as RDS lists one: a snapshot of
// SnapshotType "automated", available, restorable from the instance's
// automated repository.
Json AutomatedSnapshot(const Rds& rds, const Json& instance, const std::string& id, const BackupSet& set);

// The clock's time in milliseconds since the epoch (timestamps render with FormatIso8601Ms).
int64_t NowMs(const os::Clock& clock);

}  // namespace annex::database
