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
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "appliance/os/command_runner.h"
#include "appliance/schedule/scheduler.h"
#include "appliance/supervisor/supervisor.h"
#include "services/database/instance_backups.h"
#include "services/database/postgres_binaries.h"
#include "services/database/rds.h"

namespace annex::database {

// Whether pg_stat_archiver's last_archived_wal shows `segment` archived
// (a restore point is restorable once its segment is).
bool ArchivedThrough(std::string_view last_archived, std::string_view segment);

struct InstanceReconcilerOptions {
  Rds* rds = nullptr;
  supervisor::Supervisor* supervisor = nullptr;
  os::CommandRunner* runner = nullptr;
  PostgresBinaries postgres;
  // Unset when backups cannot be taken here (no IAM service users).
  std::optional<InstanceBackupsOptions> backups;
  // How long a starting instance may take to accept connections before it is failed.
  std::chrono::milliseconds start_timeout{120'000};
  // How often an instance with backups marks a restore point (the lag of its
  // LatestRestorableTime).
  std::chrono::milliseconds restore_point_interval{300'000};
  // Runs the daily automated backups in each instance's backup window; null:
  // only the backup taken at creation.
  schedule::Scheduler* scheduler = nullptr;
};

// The scheduler target of the daily automated backups; its schedules are
// named "rds/backup/<DbiResourceId>" with the instance's key as payload.
inline constexpr const char* kBackupTarget = "rds/backup";

// _annex.restore of a restored instance as the source to restore from.
RestoreSource RestoreSourceOf(const Json& restore);

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
  // The daily automated backup asked for by the scheduler (intent.backupDueMs),
  // full when the newest full one is a week old (or older than the
  // retention), else incremental; recorded as an automated snapshot.
  void TakeAutomatedBackup(Json& doc);
  // Automated snapshots of `doc` whose backup set retention expired are forgotten.
  void ForgetExpiredAutomatedSnapshots(const Json& doc, const BackrestStanzaInfo& info);
  // A restore point every restore_point_interval: a commit whose time is
  // noted, then a WAL switch; once the segment holding it is archived, that
  // time is the instance's LatestRestorableTime. True when `doc` changed.
  bool MarkRestorePoint(const std::string& key, Json& doc);
  // Rewrites the instance's pgbackrest.conf once per annexd run and whenever
  // what it holds changes (annexd's TLS port is chosen at each start; the
  // retention and the port may be modified).
  void SyncBackupConfig(const std::string& key, const Json& doc);
  // Keeps the instance's daily backup schedule in line with its backup
  // window (removed when backups are off or the instance is gone).
  void SyncBackupSchedule(const std::string& key, const Json& doc);
  // The scheduler's firing: intent.backupDueMs of the instance it names.
  Status BackupDue(const schedule::Firing& firing);
  // Whether postgres accepts connections on the instance's socket.
  bool Ready(const Json& doc);
  // SQL as the instance's master user on its socket, in database "postgres":
  // one query's output, or statements run.
  Result<std::string> QueryInstance(const Json& doc, std::string_view sql);
  Status RunInstanceSql(const Json& doc, std::string_view sql);
  void Fail(Json& doc, const std::string& why);

  InstanceReconcilerOptions o_;
  PostgresCommands postgres_;
  std::unique_ptr<InstanceBackups> backups_;  // null without backups
  // Reconciler-thread only: when each instance's archive was last read for a
  // pending restore point, and the backup schedule expression last put.
  std::map<std::string, int64_t> archive_checked_ms_;
  std::map<std::string, std::string> backup_schedules_;
  std::map<std::string, std::string> backup_configs_;  // what each instance's pgbackrest.conf was written for
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace annex::database
