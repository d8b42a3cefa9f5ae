// The instance reconciler's backup steps: restore instead of initdb, the
// initial full backup, manual snapshots (instance_reconciler.h).

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"
#include "services/database/instance_reconciler.h"

namespace annex::database {
namespace {

int64_t IntOf(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

bool InstanceReconciler::BackupsOn(const Json& doc) const {
  return backups_ != nullptr && IntOf(doc, "BackupRetentionPeriod") > 0;
}

// The snapshot, restored into pgdata itself: recovery reads WAL through a
// config naming that path, so no staging directory can be renamed into
// place. A marker written once the restore is whole tells a finished
// restore from one a crash cut short, which is wiped and done again.
Status InstanceReconciler::RestoreCluster(const Json& doc) {
  if (!backups_) return Status::FailedPrecondition("backups are unavailable on this appliance");
  std::string volume = InstanceDir(doc) + "/volume";
  std::string pgdata = volume + "/pgdata";
  std::string marker = volume + "/restored";
  if (std::filesystem::exists(marker)) return Status::OK();
  std::error_code ec;
  std::filesystem::remove_all(pgdata, ec);
  std::filesystem::create_directories(pgdata, ec);
  if (ec) return Status::IOError("create " + pgdata + ": " + ec.message());
  if (::chown(pgdata.c_str(), o_.postgres.uid, o_.postgres.gid) != 0 || ::chmod(pgdata.c_str(), 0700) != 0) {
    return Status::FromErrno(errno, "chown " + pgdata);
  }
  const Json& restore = doc[kPrivate]["restore"];
  ANNEX_RETURN_IF_ERROR(backups_->Restore(doc, restore.value("sourceResourceId", ""), restore.value("label", ""),
                                          pgdata));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), marker, "restored\n"));
  std::filesystem::remove(PasswordFile(*o_.rds, doc, 0), ec);  // the cluster keeps the source's password
  return Status::OK();
}

bool InstanceReconciler::TakeBackups(Json& doc) {
  Json& state = doc[kPrivate]["state"];
  std::string id = doc.value("DBInstanceIdentifier", "");
  if (!state.value("initialBackup", false)) {
    // Also after an annexd restart mid-backup: a full backup again is harmless.
    if (Status s = backups_->Backup(doc, "full"); !s.ok()) {
      log::Warn("database: the first backup", {{"instance", id}, {"error", s.ToString()}});
      state["backupError"] = s.message();
    }
    state["initialBackup"] = true;
    return true;
  }
  TakeSnapshots(doc);
  state["snapshotSeqDone"] = IntOf(doc[kPrivate]["intent"], "snapshotSeq");
  doc["DBInstanceStatus"] = "available";
  return true;
}

// Every snapshot of this instance still "creating", one full backup each
// into the snapshot repository; the snapshot documents get their set and
// sizes (or "failed").
void InstanceReconciler::TakeSnapshots(const Json& doc) {
  std::string account = doc[kPrivate].value("account", "");
  std::string instance = doc.value("DBInstanceIdentifier", "");
  auto snapshots = o_.rds->store->Scan(kSnapshot, account + "/");
  if (!snapshots.ok()) return;
  for (auto& [key, snapshot] : *snapshots) {
    if (snapshot.value("Status", "") != "creating" || snapshot.value("DBInstanceIdentifier", "") != instance) continue;
    Result<BackrestBackup> set = backups_ ? backups_->Snapshot(doc)
                                            : Result<BackrestBackup>(Status::FailedPrecondition("no backups"));
    if (!set.ok()) log::Warn("database: a snapshot", {{"snapshot", key}, {"error", set.status().ToString()}});
    auto written = o_.rds->store->Update(kSnapshot, key, [&](std::optional<Json>& current) -> Status {
      if (!current) return Status::OK();
      if (!set.ok()) {
        (*current)["Status"] = "failed";
        return Status::OK();
      }
      (*current)["Status"] = "available";
      (*current)["PercentProgress"] = 100;
      (*current)["SnapshotCreateTime"] = FormatIso8601Ms(set->start_time * 1000);
      (*current)["OriginalSnapshotCreateTime"] = (*current)["SnapshotCreateTime"];
      (*current)["SnapshotDatabaseTime"] = FormatIso8601Ms(set->stop_time * 1000);
      (*current)[kPrivate]["label"] = set->label;
      (*current)[kPrivate]["databaseBytes"] = set->database_size;
      (*current)[kPrivate]["repoBytes"] = set->repo_size;
      return Status::OK();
    });
    if (!written.ok()) log::Warn("database: saving a snapshot", {{"snapshot", key}, {"error", written.status().ToString()}});
  }
}

void InstanceReconciler::DeleteSnapshots() {
  auto snapshots = o_.rds->store->Scan(kSnapshot, "");
  if (!snapshots.ok()) return;
  for (auto& [key, snapshot] : *snapshots) {
    if (snapshot.value("Status", "") != "deleting") continue;
    if (backups_) {
      if (Status s = backups_->DeleteSnapshot(snapshot); !s.ok()) {
        log::Warn("database: deleting a snapshot's backup", {{"snapshot", key}, {"error", s.ToString()}});
        if (s.code() == StatusCode::kUnavailable) continue;  // annexd's listeners not up yet: later
      }
    }
    if (Status s = o_.rds->store->Delete(kSnapshot, key); !s.ok()) {
      log::Warn("database: deleting a snapshot", {{"snapshot", key}, {"error", s.ToString()}});
    }
  }
}

}  // namespace annex::database
