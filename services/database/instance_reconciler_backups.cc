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

// _annex.restore as the API wrote it: {sourceResourceId, label, repo} for a
// snapshot ("snapshots" for a manual one, "automated" for an automated
// backup), {sourceResourceId, timeMs} for a point in time.
RestoreSource RestoreSourceOf(const Json& restore) {
  RestoreSource from;
  from.resource_id = restore.value("sourceResourceId", "");
  from.label = restore.value("label", "");
  from.snapshots = !from.label.empty() && restore.value("repo", "snapshots") == "snapshots";
  from.time_ms = IntOf(restore, "timeMs");
  return from;
}

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
  // The cluster, and its WAL beside the volume (pg_wal is restored as a link to it).
  for (const std::string& dir : {pgdata, WalDir(*o_.rds, doc)}) {
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("create " + dir + ": " + ec.message());
    if (::chown(dir.c_str(), o_.postgres.uid, o_.postgres.gid) != 0 || ::chmod(dir.c_str(), 0700) != 0) {
      return Status::FromErrno(errno, "chown " + dir);
    }
  }
  ANNEX_RETURN_IF_ERROR(backups_->Restore(doc, RestoreSourceOf(doc[kPrivate]["restore"]), pgdata));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), marker, "restored\n"));
  std::filesystem::remove(PasswordFile(*o_.rds, doc, 0), ec);  // the cluster keeps the source's password
  return Status::OK();
}

bool InstanceReconciler::TakeBackups(Json& doc) {
  Json& state = doc[kPrivate]["state"];
  if (!state.value("initialBackup", false)) {
    // Also after an annexd restart mid-backup: a full backup again is harmless.
    TakeAutomatedBackup(doc);
    state["initialBackup"] = true;
    return true;
  }
  if (IntOf(doc[kPrivate]["intent"], "backupDueMs") > IntOf(state, "backupDoneMs")) {
    TakeAutomatedBackup(doc);
    return true;
  }
  TakeSnapshots(doc);
  state["snapshotSeqDone"] = IntOf(doc[kPrivate]["intent"], "snapshotSeq");
  doc["DBInstanceStatus"] = "available";
  return true;
}

void InstanceReconciler::TakeAutomatedBackup(Json& doc) {
  Json& state = doc[kPrivate]["state"];
  std::string id = doc.value("DBInstanceIdentifier", "");
  int64_t now = NowMs(*o_.rds->clock);
  int64_t retention_ms = int64_t{RetentionDays(doc)} * 86'400'000;
  bool full = now - IntOf(state, "lastFullMs") >= std::min<int64_t>(7 * 86'400'000, retention_ms);
  state["backupDoneMs"] = IntOf(doc[kPrivate]["intent"], "backupDueMs");
  if (Status s = backups_->Backup(doc, full ? "full" : "incr"); !s.ok()) {
    log::Warn("database: an automated backup", {{"instance", id}, {"error", s.ToString()}});
    state["backupError"] = s.message();
    return;
  }
  if (full) state["lastFullMs"] = now;
  Result<BackrestStanzaInfo> info = backups_->Info(doc);
  if (!info.ok() || info->backups.empty()) return;
  // Listed as RDS lists automated backups: a snapshot "rds:<instance>-<yyyy-mm-dd-hh-mm>".
  const BackrestBackup& set = info->backups.back();
  std::string stamp = FormatIso8601Ms(set.start_time * 1000);  // 2026-12-07T14:38:35.000Z
  std::string name = "rds:" + id + "-" + stamp.substr(0, 10) + "-" + stamp.substr(11, 2) + "-" + stamp.substr(14, 2);
  Json snapshot = AutomatedSnapshot(*o_.rds, doc, name,
                                    {set.label, set.start_time * 1000, set.stop_time * 1000,
                                     static_cast<int64_t>(set.database_size), static_cast<int64_t>(set.repo_size)});
  if (Status s = o_.rds->store->Put(kSnapshot, service::DocumentKey({doc[kPrivate].value("account", ""), name}),
                                    snapshot);
      !s.ok()) {
    log::Warn("database: saving an automated snapshot", {{"snapshot", name}, {"error", s.ToString()}});
  }
  ForgetExpiredAutomatedSnapshots(doc, *info);
}

void InstanceReconciler::ForgetExpiredAutomatedSnapshots(const Json& doc, const BackrestStanzaInfo& info) {
  std::string account = doc[kPrivate].value("account", "");
  auto snapshots = o_.rds->store->Scan(kSnapshot, account + "/");
  if (!snapshots.ok()) return;
  for (auto& [key, snapshot] : *snapshots) {
    if (snapshot.value("SnapshotType", "") != "automated" ||
        snapshot.value("DbiResourceId", "") != doc.value("DbiResourceId", "")) {
      continue;
    }
    std::string label = snapshot[kPrivate].value("label", "");
    bool kept = std::any_of(info.backups.begin(), info.backups.end(),
                            [&](const BackrestBackup& b) { return b.label == label; });
    if (!kept) o_.rds->store->Delete(kSnapshot, key).IgnoreError();
  }
}

// Segment names sort in WAL order across timelines. A backup history file ("<segment>.<offset>.backup", archived
// after the segment it names) counts as its segment: when it is the last
// file archived, waiting for a longer name would wait until the next
// segment switch, archive_timeout minutes away on an idle instance.
// Timeline history files ("00000002.history", shorter) say nothing.
bool ArchivedThrough(std::string_view last_archived, std::string_view segment) {
  if (last_archived.size() > segment.size() && last_archived[segment.size()] == '.') {
    last_archived = last_archived.substr(0, segment.size());
  }
  return last_archived.size() == segment.size() && last_archived >= segment;
}

bool InstanceReconciler::MarkRestorePoint(const std::string& key, Json& doc) {
  Json& state = doc[kPrivate]["state"];
  int64_t now = NowMs(*o_.rds->clock);
  auto pending = state.find("restorePoint");
  if (pending != state.end() && pending->is_object()) {
    int64_t& checked = archive_checked_ms_[key];
    if (now - checked < 2000) return false;
    checked = now;
    Result<std::string> archived = QueryInstance(doc, "SELECT last_archived_wal FROM pg_stat_archiver");
    std::string segment = pending->value("segment", "");
    if (!archived.ok() || !ArchivedThrough(*archived, segment)) return false;
    doc["LatestRestorableTime"] = FormatIso8601Ms(IntOf(*pending, "ms"));
    state.erase("restorePoint");
    return true;
  }
  if (now - IntOf(state, "restorePointAt") < o_.restore_point_interval.count()) return false;
  // The clock is read before the commit: recovery to any time up to it finds
  // this commit after its target, and stops there.
  Result<std::string> out = QueryInstance(doc,
                                          "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;\n"
                                          "SELECT txid_current();\n"
                                          "SELECT pg_walfile_name(pg_current_wal_lsn());\n"
                                          "SELECT pg_switch_wal();\n");
  state["restorePointAt"] = now;
  if (!out.ok()) {
    log::Warn("database: marking a restore point", {{"instance", key}, {"error", out.status().ToString()}});
    return true;
  }
  std::vector<std::string_view> lines = Split(*out, '\n');
  if (lines.size() < 3) return true;
  state["restorePoint"] = {{"ms", std::strtoll(std::string(lines[0]).c_str(), nullptr, 10)},
                           {"segment", std::string(lines[2])}};
  archive_checked_ms_[key] = 0;
  return true;
}

void InstanceReconciler::SyncBackupConfig(const std::string& key, const Json& doc) {
  if (!BackupsOn(doc) || !backups_->Available().ok()) return;
  const Json& state = doc[kPrivate]["state"];
  if (!state.value("initialized", false)) return;  // Create writes the first one
  std::string written_for = backups_->ConfigSignature(doc);
  auto known = backup_configs_.find(key);
  if (known != backup_configs_.end() && known->second == written_for) return;
  if (Status s = backups_->Configure(doc); !s.ok()) {
    log::Warn("database: rewriting an instance's backup config", {{"instance", key}, {"error", s.ToString()}});
    return;
  }
  backup_configs_[key] = written_for;
}

void InstanceReconciler::SyncBackupSchedule(const std::string& key, const Json& doc) {
  if (!o_.scheduler) return;
  std::string name = std::string(kBackupTarget) + "/" + doc.value("DbiResourceId", "");
  std::string expression;
  if (BackupsOn(doc) && doc.value("DBInstanceStatus", "") != "deleted") {
    // "hh24:mi-hh24:mi" (validated by the API): the backup starts as the window opens.
    std::string window = doc.value("PreferredBackupWindow", "00:00-00:30");
    int hour = std::atoi(window.substr(0, 2).c_str());
    int minute = window.size() >= 5 ? std::atoi(window.substr(3, 2).c_str()) : 0;
    expression = "cron(" + std::to_string(minute) + " " + std::to_string(hour) + " * * ? *)";
  }
  auto known = backup_schedules_.find(name);
  if (known != backup_schedules_.end() && known->second == expression) return;
  Status s = expression.empty() ? o_.scheduler->Delete(name)
                                : o_.scheduler->Put({name, expression, kBackupTarget, key});
  if (!s.ok() && s.code() != StatusCode::kNotFound) {
    log::Warn("database: the backup schedule", {{"instance", key}, {"error", s.ToString()}});
    return;
  }
  if (expression.empty()) backup_schedules_.erase(name);
  else backup_schedules_[name] = expression;
}

Status InstanceReconciler::BackupDue(const schedule::Firing& firing) {
  int64_t due = std::chrono::duration_cast<std::chrono::milliseconds>(firing.scheduled.time_since_epoch()).count();
  auto written = o_.rds->store->Update(kInstance, firing.payload, [&](std::optional<Json>& doc) -> Status {
    if (!doc) return Status::OK();  // deleted: the reconciler removes the schedule
    (*doc)[kPrivate]["intent"]["backupDueMs"] = due;
    return Status::OK();
  });
  if (!written.ok()) return written.status();
  Wake();
  return Status::OK();
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
