#pragma once
// InstanceReconciler: brings each database instance to what its owner asked
// for, one step at a time, on a thread of its own — the API only records
// intent and answers at once, as RDS does ("creating", then poll).
//
// An instance document has two owners, so neither overwrites the other:
//   the API       everything RDS lets a user set (tags, windows, retention)
//                 and _annex.intent: desired state ("available", "stopped",
//                 "deleted"), reboots asked for, and modifications queued
//                 with increasing sequence numbers;
//   this thread   DBInstanceStatus, the applied DBInstanceClass and
//                 AllocatedStorage, and _annex.state: what it has done
//                 (cluster made, database created, modifications applied up
//                 to a sequence number, the supervisor run it last saw).
// It writes back only its own members, inside an Update of the current
// document, so a request that lands mid-step is never lost.
//
// Every step is idempotent: annexd may stop between any two, and the next
// pass finds the files, the mount and the workload as they are. PostgreSQL
// itself runs as a supervised workload (restarted when it crashes, left
// running when annexd stops); this thread only reports what it finds.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

#include "appliance/os/command_runner.h"
#include "appliance/supervisor/supervisor.h"
#include "services/database/instance_backups.h"
#include "services/database/postgres_binaries.h"
#include "services/database/rds.h"

namespace annex::database {

struct InstanceReconcilerOptions {
  Rds* rds = nullptr;
  supervisor::Supervisor* supervisor = nullptr;
  os::CommandRunner* runner = nullptr;
  PostgresBinaries postgres;
  // Unset when backups cannot be taken here (no IAM service users).
  std::optional<InstanceBackupsOptions> backups;
  // How long a starting instance may take to accept connections before it is failed.
  std::chrono::milliseconds start_timeout{120'000};
};

class InstanceReconciler {
 public:
  explicit InstanceReconciler(InstanceReconcilerOptions options);
  ~InstanceReconciler();  // stops the thread; instances run on

  // Asks for a pass now (a request changed an instance).
  void Wake();

  // The supervisor's workload id of an instance: "rds-<DbiResourceId>".
  static std::string WorkloadId(const Json& doc);
  // The instance's directory.
  std::string InstanceDir(const Json& doc) const;

  PostgresCommands& postgres() { return postgres_; }

 private:
  void Loop();
  // One pass over every instance; true if any is in a transitional state.
  bool Pass();
  // Advances one instance; true when `doc` changed (and is written back).
  bool Step(const std::string& key, Json& doc);
  // Writes back this thread's members of `doc`.
  Status WriteBack(const std::string& key, const Json& doc);

  Status Create(Json& doc);
  Status PrepareFiles(const Json& doc);
  Status InitCluster(const Json& doc);
  Status WriteConfig(const Json& doc);
  Status StartPostgres(const Json& doc);
  bool ApplyModifications(Json& doc);
  bool Delete(const std::string& key, Json& doc);
  // Backups (instance_reconciler_backups.cc): whether the instance archives
  // WAL and is backed up; a restore instead of initdb; the initial full
  // backup and the manual snapshots asked for, in status "backing-up".
  bool BackupsOn(const Json& doc) const;
  Status RestoreCluster(const Json& doc);
  bool TakeBackups(Json& doc);
  void TakeSnapshots(const Json& doc);
  void DeleteSnapshots();
  // Whether postgres accepts connections on the instance's socket.
  bool Ready(const Json& doc);
  void Fail(Json& doc, const std::string& why);

  InstanceReconcilerOptions o_;
  PostgresCommands postgres_;
  std::unique_ptr<InstanceBackups> backups_;  // null without backups
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace annex::database
