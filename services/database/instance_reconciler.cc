#include "services/database/instance_reconciler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"
#include "services/database/instance_classes.h"
#include "services/database/instance_volume.h"
#include "services/database/postgres_config.h"
#include "services/database/rds_validation.h"

namespace annex::database {
namespace {

// Statuses a pass must come back to soon; the others only need watching.
bool Transitional(const std::string& status) {
  return status != "available" && status != "stopped" && status != "failed";
}

bool Active(const supervisor::WorkloadState& w) {
  return w.phase == supervisor::WorkloadPhase::kRunning || w.phase == supervisor::WorkloadPhase::kStopping ||
         w.phase == supervisor::WorkloadPhase::kRestarting;
}

const Json& Member(const Json& doc, const char* name) {
  static const Json kNull;
  auto it = doc.find(name);
  return it == doc.end() ? kNull : *it;
}

Json& State(Json& doc) { return doc[kPrivate]["state"]; }
const Json& Intent(const Json& doc) { return Member(Member(doc, kPrivate), "intent"); }

std::string Str(const Json& j, const char* name, std::string fallback = "") {
  const Json& v = Member(j, name);
  return v.is_string() ? v.get<std::string>() : fallback;
}
int64_t Int(const Json& j, const char* name, int64_t fallback = 0) {
  const Json& v = Member(j, name);
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}
bool Bool(const Json& j, const char* name) {
  const Json& v = Member(j, name);
  return v.is_boolean() && v.get<bool>();
}

Status Chown(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  if (::chown(path.c_str(), uid, gid) != 0) return Status::FromErrno(errno, "chown " + path);
  if (::chmod(path.c_str(), mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return Status::OK();
}

Status MakeOwnedDir(const std::string& path, const PostgresBinaries& pg) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("create " + path + ": " + ec.message());
  return Chown(path, pg.uid, pg.gid, 0700);
}

constexpr const char* kPgHba =
    "# Written by annexd.\n"
    "local all all trust\n"
    "host all all 0.0.0.0/0 scram-sha-256\n"
    "host all all ::/0 scram-sha-256\n";

// Members this thread owns; the API owns the rest (see the header).
constexpr const char* kOwnedMembers[] = {"DBInstanceStatus", "DBInstanceClass", "AllocatedStorage",
                                          "LatestRestorableTime"};

}  // namespace

InstanceReconciler::InstanceReconciler(InstanceReconcilerOptions options)
    : o_(std::move(options)), postgres_(*o_.runner, o_.postgres) {
  if (o_.backups) backups_ = std::make_unique<InstanceBackups>(*o_.backups, postgres_);
  // The scheduler stops before the services do: no firing outlives this object.
  if (o_.scheduler && backups_) {
    o_.scheduler->RegisterTarget(kBackupTarget, [this](const schedule::Firing& f) { return BackupDue(f); });
  } else {
    o_.scheduler = nullptr;
  }
  thread_ = std::thread([this] { Loop(); });
}

InstanceReconciler::~InstanceReconciler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void InstanceReconciler::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

std::string InstanceReconciler::WorkloadId(const Json& doc) { return "rds-" + Str(doc, "DbiResourceId"); }

std::string InstanceReconciler::InstanceDir(const Json& doc) const { return database::InstanceDir(*o_.rds, doc); }

void InstanceReconciler::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    bool busy = Pass();
    lock.lock();
    // Transitions are watched closely; settled instances twice a second (a
    // crashed postgres shows as "rebooting" until it accepts connections again).
    auto wait = busy ? std::chrono::milliseconds(100) : std::chrono::milliseconds(500);
    wake_.wait_for(lock, wait, [&] { return stopping_ || woken_; });
    woken_ = false;
  }
}

bool InstanceReconciler::Pass() {
  auto docs = o_.rds->store->Scan(kInstance, "");
  if (!docs.ok()) {
    log::Warn("database: reading instances", {{"error", docs.status().ToString()}});
    return false;
  }
  bool busy = false;
  for (auto& [key, doc] : *docs) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
    }
    // Each step may move an instance on; several in a row make a creation quick.
    for (int i = 0; i < 8 && Step(key, doc); ++i) {
      if (Str(doc, "DBInstanceStatus") == "deleted") break;
      if (Status s = WriteBack(key, doc); !s.ok()) {
        log::Warn("database: saving an instance", {{"instance", key}, {"error", s.ToString()}});
        break;
      }
    }
    SyncBackupSchedule(key, doc);
    busy |= Transitional(Str(doc, "DBInstanceStatus"));
  }
  DeleteSnapshots();
  return busy;
}

Status InstanceReconciler::WriteBack(const std::string& key, const Json& doc) {
  auto written = o_.rds->store->Update(kInstance, key, [&](std::optional<Json>& current) -> Status {
    if (!current) return Status::NotFound("instance " + key + " is gone");
    for (const char* m : kOwnedMembers) {
      if (doc.contains(m)) (*current)[m] = doc[m];
    }
    (*current)[kPrivate]["state"] = Member(Member(doc, kPrivate), "state");
    return Status::OK();
  });
  return written.status();
}

void InstanceReconciler::Fail(Json& doc, const std::string& why) {
  log::Warn("database: instance failed", {{"instance", Str(doc, "DBInstanceIdentifier")}, {"error", why}});
  doc["DBInstanceStatus"] = "failed";
  State(doc)["error"] = why;
}

bool InstanceReconciler::Step(const std::string& key, Json& doc) {
  const std::string status = Str(doc, "DBInstanceStatus");
  const Json& intent = Intent(doc);
  const std::string desired = Str(intent, "desired", "available");
  Json& state = State(doc);
  std::string id = WorkloadId(doc);
  std::optional<supervisor::WorkloadState> w = o_.supervisor->Get(id);
  int64_t now = NowMs(*o_.rds->clock);

  SyncBackupConfig(key, doc);
  if (desired == "deleted") return Delete(key, doc);
  // After a reboot the volumes are not mounted; postgres, started again by
  // the supervisor, finds its data once they are (its restarts back off).
  if (Bool(state, "initialized") && status != "stopped" && status != "stopping" && status != "failed") {
    InstanceVolume volume(*o_.runner, InstanceDir(doc));
    if (Status s = volume.Mount(); !s.ok()) {
      log::Warn("database: mounting an instance's volume", {{"instance", key}, {"error", s.ToString()}});
    }
  }
  if (status == "creating") {
    if (Status s = Create(doc); !s.ok()) {
      Fail(doc, s.message());
      return true;
    }
    return Str(doc, "DBInstanceStatus") != "creating" || Bool(state, "changed");
  }
  if (status == "available") {
    // Down (waiting to be started again counts), or started again since it was last seen ready.
    if (!w || w->phase != supervisor::WorkloadPhase::kRunning || static_cast<int64_t>(w->run) != Int(state, "run")) {
      if (w && w->crash_loop) {
        Fail(doc, "PostgreSQL keeps exiting; see the instance's log");
        return true;
      }
      doc["DBInstanceStatus"] = "rebooting";  // it crashed: the supervisor starts it again
      state["since"] = now;
      return true;
    }
    if (desired == "stopped") {
      doc["DBInstanceStatus"] = "stopping";
      return true;
    }
    if (BackupsOn(doc) && (Int(intent, "snapshotSeq") > Int(state, "snapshotSeqDone") ||
                           Int(intent, "backupDueMs") > Int(state, "backupDoneMs"))) {
      doc["DBInstanceStatus"] = "backing-up";
      return true;
    }
    if (Int(intent, "rebootSeq") > Int(state, "rebootSeqDone")) {
      doc["DBInstanceStatus"] = "rebooting";
      state["restart"] = true;
      state["since"] = now;
      return true;
    }
    if (BackupsOn(doc) && MarkRestorePoint(key, doc)) return true;
    return ApplyModifications(doc);
  }
  if (status == "rebooting" || status == "modifying" || status == "starting") {
    if (Bool(state, "restart")) {  // a restart asked for: stop, then start afresh
      if (w && Active(*w)) {
        if (w->phase != supervisor::WorkloadPhase::kStopping) o_.supervisor->RequestStop(id).IgnoreError();
        return false;
      }
      if (Status s = StartPostgres(doc); !s.ok()) {
        Fail(doc, s.message());
        return true;
      }
      state["restart"] = false;
      state["since"] = now;
      return true;
    }
    if (w && w->crash_loop) {
      Fail(doc, "PostgreSQL keeps exiting; see the instance's log");
      return true;
    }
    // Not running and not about to be (stopped, or its record is gone): start it.
    if (!w || w->phase == supervisor::WorkloadPhase::kExited) {
      InstanceVolume volume(*o_.runner, InstanceDir(doc));
      Status s = volume.Mount();
      if (s.ok()) s = WriteConfig(doc);
      if (s.ok()) s = StartPostgres(doc);
      if (!s.ok()) {
        Fail(doc, s.message());
        return true;
      }
      state["since"] = now;
      return true;
    }
    if (!w || !Ready(doc)) {
      if (now - Int(state, "since", now) > o_.start_timeout.count()) {
        Fail(doc, "PostgreSQL did not accept connections within " +
                      std::to_string(o_.start_timeout.count() / 1000) + " s");
        return true;
      }
      return false;
    }
    state["run"] = w->run;
    state["rebootSeqDone"] = Int(intent, "rebootSeq");
    doc["DBInstanceStatus"] = "available";
    return true;
  }
  if (status == "backing-up") return TakeBackups(doc);
  if (status == "stopping") {
    if (w && Active(*w)) {
      if (w->phase != supervisor::WorkloadPhase::kStopping) o_.supervisor->RequestStop(id).IgnoreError();
      return false;
    }
    InstanceVolume volume(*o_.runner, InstanceDir(doc));
    if (Status s = volume.Unmount(); !s.ok()) {
      log::Warn("database: unmounting a stopped instance", {{"instance", key}, {"error", s.ToString()}});
    }
    doc["DBInstanceStatus"] = "stopped";
    return true;
  }
  if (status == "stopped" && desired == "available") {
    doc["DBInstanceStatus"] = "starting";
    state["since"] = now;
    return true;
  }
  return false;
}

Status InstanceReconciler::Create(Json& doc) {
  Json& state = State(doc);
  state["changed"] = false;
  if (!Bool(state, "initialized")) {
    if (BackupsOn(doc) && backups_->Available().code() == StatusCode::kUnavailable) {
      return Status::OK();  // annexd's listeners are not up yet: the next pass
    }
    ANNEX_RETURN_IF_ERROR(PrepareFiles(doc));
    ANNEX_RETURN_IF_ERROR(Member(doc[kPrivate], "restore").is_object() ? RestoreCluster(doc) : InitCluster(doc));
    if (BackupsOn(doc)) {
      // The repository before the first start: the first WAL archived has somewhere to go.
      ANNEX_RETURN_IF_ERROR(backups_->Configure(doc));
      ANNEX_RETURN_IF_ERROR(backups_->CreateStanza(doc, /*online=*/false));
    }
    ANNEX_RETURN_IF_ERROR(WriteConfig(doc));
    ANNEX_RETURN_IF_ERROR(StartPostgres(doc));
    state["initialized"] = true;
    state["since"] = NowMs(*o_.rds->clock);
    state["changed"] = true;
    return Status::OK();
  }
  std::optional<supervisor::WorkloadState> w = o_.supervisor->Get(WorkloadId(doc));
  if (!w || !Active(*w)) {  // annexd stopped before the start was recorded, or it exited
    if (w && w->crash_loop) return Status::Internal("PostgreSQL keeps exiting; see the instance's log");
    InstanceVolume volume(*o_.runner, InstanceDir(doc));
    ANNEX_RETURN_IF_ERROR(volume.Mount());
    if (!w) ANNEX_RETURN_IF_ERROR(StartPostgres(doc));
    return Status::OK();
  }
  if (!Ready(doc)) {
    if (NowMs(*o_.rds->clock) - Int(state, "since") > o_.start_timeout.count()) {
      return Status::Unavailable("PostgreSQL did not accept connections in time");
    }
    return Status::OK();
  }
  bool restored = Member(doc[kPrivate], "restore").is_object();
  if (restored && !Bool(state, "restoreFinished")) {
    // A restored cluster takes connections while it replays (hot standby):
    // it is the instance asked for once it has reached its target and promoted.
    ANNEX_ASSIGN_OR_RETURN(std::string recovering, QueryInstance(doc, "SELECT pg_is_in_recovery()"));
    if (recovering != "f") {
      if (NowMs(*o_.rds->clock) - Int(state, "since") > o_.start_timeout.count() * 10) {
        return Status::Unavailable("PostgreSQL did not finish recovering the restored data in time");
      }
      return Status::OK();
    }
  }
  std::string db_name = Str(doc, "DBName");
  if (!db_name.empty() && !Bool(state, "databaseCreated")) {
    ANNEX_ASSIGN_OR_RETURN(std::string exists,
                           QueryInstance(doc, "SELECT 1 FROM pg_database WHERE datname = " + SqlLiteral(db_name)));
    if (exists != "1") ANNEX_RETURN_IF_ERROR(RunInstanceSql(doc, "CREATE DATABASE " + SqlIdentifier(db_name)));
    state["databaseCreated"] = true;
  }
  if (restored && !Bool(state, "restoreFinished")) {
    if (Status s = backups_->FinishRestore(doc); !s.ok()) {
      log::Warn("database: after a restore", {{"instance", Str(doc, "DBInstanceIdentifier")}, {"error", s.ToString()}});
    }
    state["restoreFinished"] = true;
  }
  state["run"] = w->run;
  state["appliedSeq"] = Int(Intent(doc), "modificationSeq");
  // RDS backs a new instance up before it is available.
  doc["DBInstanceStatus"] = BackupsOn(doc) ? "backing-up" : "available";
  return Status::OK();
}

Status InstanceReconciler::PrepareFiles(const Json& doc) {
  std::string dir = InstanceDir(doc);
  ANNEX_RETURN_IF_ERROR(os::PosixFileSystem().CreateDirs(dir));
  InstanceVolume volume(*o_.runner, dir);
  ANNEX_RETURN_IF_ERROR(volume.Create(Int(doc, "AllocatedStorage", 20)));
  ANNEX_RETURN_IF_ERROR(volume.Mount());
  ANNEX_RETURN_IF_ERROR(MakeOwnedDir(SocketDir(*o_.rds, doc), o_.postgres));
  return Status::OK();
}

// initdb into pgdata.init, renamed to pgdata once whole: a crash mid-initdb
// leaves no cluster that looks made.
Status InstanceReconciler::InitCluster(const Json& doc) {
  std::string dir = InstanceDir(doc);
  std::string volume = os::JoinPath(dir, "volume");
  std::string pgdata = os::JoinPath(volume, "pgdata");
  if (std::filesystem::exists(pgdata + "/PG_VERSION")) return Status::OK();
  std::string staging = os::JoinPath(volume, "pgdata.init");
  std::string wal = WalDir(*o_.rds, doc);
  std::error_code ec;
  std::filesystem::remove_all(staging, ec);
  std::filesystem::remove_all(wal, ec);  // initdb wants it empty
  ANNEX_RETURN_IF_ERROR(MakeOwnedDir(staging, o_.postgres));
  ANNEX_RETURN_IF_ERROR(MakeOwnedDir(wal, o_.postgres));
  std::string password = PasswordFile(*o_.rds, doc, 0);
  ANNEX_RETURN_IF_ERROR(Chown(password, o_.postgres.uid, o_.postgres.gid, 0600));
  ANNEX_RETURN_IF_ERROR(postgres_.InitDb(staging, wal, Str(doc, "MasterUsername"), password));
  ANNEX_ASSIGN_OR_RETURN(std::string conf, os::ReadFileToString(os::PosixFileSystem(), staging + "/postgresql.conf"));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), staging + "/postgresql.conf", conf + kIncludeAnnexConf));
  ANNEX_RETURN_IF_ERROR(Chown(staging + "/postgresql.conf", o_.postgres.uid, o_.postgres.gid, 0600));
  // Clients log in from anywhere with a password, as RDS's PubliclyAccessible instances take them; only the
  // instance's socket directory, which only its user enters, is trusted.
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), staging + "/pg_hba.conf", kPgHba));
  ANNEX_RETURN_IF_ERROR(Chown(staging + "/pg_hba.conf", o_.postgres.uid, o_.postgres.gid, 0600));
  std::filesystem::rename(staging, pgdata, ec);
  if (ec) return Status::IOError("rename " + staging + ": " + ec.message());
  std::filesystem::remove(password, ec);
  return Status::OK();
}

Status InstanceReconciler::WriteConfig(const Json& doc) {
  auto cls = FindInstanceClass(Str(doc, "DBInstanceClass"));
  if (!cls) return Status::InvalidArgument("unknown instance class " + Str(doc, "DBInstanceClass"));
  InstanceSettings settings;
  settings.port = InstancePort(doc);
  settings.socket_dir = SocketDir(*o_.rds, doc);
  settings.memory = SettingsFor(*cls);
  if (BackupsOn(doc)) settings.archive_command = backups_->ArchiveCommandFor(doc);
  std::string path = os::JoinPath(InstanceDir(doc), "volume/pgdata/annex.conf");
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), path, RenderAnnexConf(settings)));
  return Chown(path, o_.postgres.uid, o_.postgres.gid, 0600);
}

Status InstanceReconciler::StartPostgres(const Json& doc) {
  auto cls = FindInstanceClass(Str(doc, "DBInstanceClass"));
  if (!cls) return Status::InvalidArgument("unknown instance class " + Str(doc, "DBInstanceClass"));
  std::string identifier = Str(doc, "DBInstanceIdentifier");
  supervisor::WorkloadSpec spec;
  spec.argv = {o_.postgres.Tool("postgres"), "-D", os::JoinPath(InstanceDir(doc), "volume/pgdata")};
  spec.env = {"LC_ALL=C.UTF-8", "PGTZ=UTC"};
  spec.uid = o_.postgres.uid;
  spec.gid = o_.postgres.gid;
  spec.limits.memory_max_bytes = static_cast<uint64_t>(cls->memory_mib) << 20;
  spec.limits.cpu_quota_us = static_cast<uint64_t>(cls->vcpus) * spec.limits.cpu_period_us;
  spec.limits.pids_max = 8192;
  spec.stop_signal = SIGINT;  // fast shutdown: sessions end, nothing is lost
  spec.stop_grace = std::chrono::seconds(60);
  spec.log = {Str(Member(doc, kPrivate), "account"), "/aws/rds/instance/" + identifier + "/postgresql", identifier};
  supervisor::RestartPolicy always;
  always.mode = supervisor::RestartMode::kAlways;
  always.max_backoff = std::chrono::seconds(30);
  auto started = o_.supervisor->Start(WorkloadId(doc), spec, always);
  if (!started.ok() && started.status().code() != StatusCode::kAlreadyExists) return started.status();
  return Status::OK();
}

bool InstanceReconciler::Ready(const Json& doc) {
  auto ready = postgres_.Ready(SocketDir(*o_.rds, doc), InstancePort(doc));
  return ready.ok() && *ready;
}

Result<std::string> InstanceReconciler::QueryInstance(const Json& doc, std::string_view sql) {
  return postgres_.Query(SocketDir(*o_.rds, doc), InstancePort(doc), Str(doc, "MasterUsername"), "postgres", sql);
}

Status InstanceReconciler::RunInstanceSql(const Json& doc, std::string_view sql) {
  return postgres_.RunSql(SocketDir(*o_.rds, doc), InstancePort(doc), Str(doc, "MasterUsername"), "postgres", sql);
}

// Queued modifications past the applied sequence number, in order. Those
// not to be applied immediately wait for the maintenance window.
bool InstanceReconciler::ApplyModifications(Json& doc) {
  Json& state = State(doc);
  const Json& mods = Member(Intent(doc), "modifications");
  if (!mods.is_array()) return false;
  int64_t applied = Int(state, "appliedSeq");
  bool in_window = false;
  if (auto window = ParseMaintenanceWindow(Str(doc, "PreferredMaintenanceWindow")); window.ok()) {
    int64_t now_min = NowMs(*o_.rds->clock) / 60'000;
    int64_t week_min = (now_min + 3 * 1440) % 10080;  // 1970-01-01 was a Thursday; weeks start on Monday
    in_window = (week_min >= window->start && week_min < window->end) ||
                (week_min + 10080 >= window->start && week_min + 10080 < window->end);
  }
  for (const Json& m : mods) {
    int64_t seq = Int(m, "seq");
    if (seq <= applied) continue;
    if (!Bool(m, "applyImmediately") && !in_window) return false;
    std::string identifier = Str(doc, "DBInstanceIdentifier");
    Status s;
    if (Bool(m, "password")) {
      std::string file = PasswordFile(*o_.rds, doc, static_cast<uint64_t>(seq));
      auto password = os::ReadFileToString(os::PosixFileSystem(), file);
      s = password.status();
      if (s.ok()) {
        s = RunInstanceSql(doc, "ALTER ROLE " + SqlIdentifier(Str(doc, "MasterUsername")) + " WITH PASSWORD " +
                                 SqlLiteral(*password));
      }
      std::error_code ec;
      std::filesystem::remove(file, ec);
    }
    if (s.ok() && m.contains("AllocatedStorage")) {
      s = InstanceVolume(*o_.runner, InstanceDir(doc)).Grow(Int(m, "AllocatedStorage"));
      if (s.ok()) doc["AllocatedStorage"] = m["AllocatedStorage"];
    }
    bool restart = false;
    if (s.ok() && m.contains("DBInstanceClass") && m["DBInstanceClass"] != doc["DBInstanceClass"]) {
      doc["DBInstanceClass"] = m["DBInstanceClass"];
      s = WriteConfig(doc);
      restart = true;  // memory limits and shared_buffers take a restart
    }
    if (!s.ok()) log::Warn("database: applying a modification", {{"instance", identifier}, {"error", s.ToString()}});
    state["appliedSeq"] = seq;
    doc["DBInstanceStatus"] = "modifying";
    state["restart"] = restart;
    state["since"] = NowMs(*o_.rds->clock);
    return true;
  }
  return false;
}

bool InstanceReconciler::Delete(const std::string& key, Json& doc) {
  if (Str(doc, "DBInstanceStatus") != "deleting") {
    doc["DBInstanceStatus"] = "deleting";
    return true;
  }
  // A final snapshot first, while postgres runs.
  if (!Str(Intent(doc), "finalSnapshot").empty() && !Bool(State(doc), "finalSnapshotTaken")) {
    TakeSnapshots(doc);
    State(doc)["finalSnapshotTaken"] = true;
    return true;
  }
  std::string id = WorkloadId(doc);
  std::optional<supervisor::WorkloadState> w = o_.supervisor->Get(id);
  if (w && Active(*w)) {
    if (w->phase != supervisor::WorkloadPhase::kStopping) o_.supervisor->RequestStop(id).IgnoreError();
    return false;
  }
  if (w) {
    if (Status s = o_.supervisor->Remove(id); !s.ok()) {
      log::Warn("database: removing an instance's workload", {{"instance", key}, {"error", s.ToString()}});
      return false;
    }
  }
  std::string dir = InstanceDir(doc);
  if (Status s = InstanceVolume(*o_.runner, dir).Unmount(); !s.ok()) {
    log::Warn("database: unmounting a deleted instance", {{"instance", key}, {"error", s.ToString()}});
    return false;
  }
  if (backups_) {
    if (Status s = backups_->DeleteAutomated(doc); !s.ok()) {
      log::Warn("database: deleting an instance's automated backups", {{"instance", key}, {"error", s.ToString()}});
    }
    ForgetExpiredAutomatedSnapshots(doc, BackrestStanzaInfo{});  // no backup set is left
    if (Status s = backups_->RemoveAll(doc); !s.ok()) {
      log::Warn("database: removing an instance's backup user", {{"instance", key}, {"error", s.ToString()}});
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) log::Warn("database: removing an instance's files", {{"instance", key}, {"error", ec.message()}});
  if (Status s = o_.rds->store->Delete(kInstance, key); !s.ok()) {
    log::Warn("database: deleting an instance", {{"instance", key}, {"error", s.ToString()}});
    return false;
  }
  doc["DBInstanceStatus"] = "deleted";
  return true;
}

}  // namespace annex::database
