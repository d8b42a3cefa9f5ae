#pragma once
// InstanceBackups: each instance's backups, with pgBackRest, into the
// appliance's own object store through its S3 API (docs/backups-pgbackrest.md
// is the proven recipe). One bucket for the service, made through the S3 API
// by the first instance that needs it; in it, per instance:
//
//   <DbiResourceId>/            automated backups and the WAL archive
//                               (retention: BackupRetentionPeriod days)
//   <DbiResourceId>-snapshots/  manual snapshots, kept until deleted
//
// pgBackRest runs as the instance's OS user with a key of an IAM user of its
// own (service_users.h) whose policy allows exactly those two prefixes: the
// instance's superuser can reach that user's files, and so its key, and
// nothing else. It speaks S3 only over HTTPS: it reaches annexd's loopback
// TLS listener by the name its certificate carries, trusting a copy of the
// appliance CA in the instance's directory.
//
// Files, in <instance dir>/backrest (0700, the instance's user):
//   pgbackrest.conf   repo1 only: what archive_command and backups read
//   ca.pem, log/, lock/, spool/
//
// Thread-safe as its runner is; the reconciler calls it from its thread.

#include <optional>
#include <string>
#include <vector>

#include "appliance/os/command_runner.h"
#include "appliance/service/appliance_endpoints.h"
#include "appliance/service/service_users.h"
#include "services/database/backrest_config.h"
#include "services/database/postgres_binaries.h"
#include "services/database/rds.h"

namespace annex::database {

struct InstanceBackupsOptions {
  Rds* rds = nullptr;
  os::CommandRunner* runner = nullptr;
  const service::ApplianceEndpoints* endpoints = nullptr;
  service::ServiceUsers* users = nullptr;
  std::string bucket;  // the service's backup bucket
};

// The stanza every instance's repository holds (repositories are per instance).
inline constexpr const char* kStanza = "db";

// What a new instance is restored from: a backup set (a manual snapshot, or
// an automated backup), or a point in time of the source's automated
// backups and WAL archive.
struct RestoreSource {
  std::string resource_id;   // the source instance's DbiResourceId
  bool snapshots = false;    // the manual-snapshot repository, else the automated one
  std::string label;         // a backup set: restored to its end
  int64_t time_ms = 0;       // else the point in time (the newest backup before it, then WAL)
};

class InstanceBackups {
 public:
  InstanceBackups(InstanceBackupsOptions options, PostgresCommands& postgres)
      : o_(std::move(options)), postgres_(postgres) {}

  // OK when backups can be taken now; else why not (no TLS listener yet, no
  // service users).
  Status Available() const;

  std::string Dir(const Json& doc) const;         // <instance dir>/backrest
  std::string ConfigPath(const Json& doc) const;  // …/pgbackrest.conf
  // The archive_command of an instance whose backups are on.
  std::string ArchiveCommandFor(const Json& doc) const;

  // What the instance's pgbackrest.conf depends on beyond its key (annexd's
  // TLS port, the instance's port, its retention): when it changes, Configure again.
  std::string ConfigSignature(const Json& doc) const;
  // Writes the instance's backrest directory and pgbackrest.conf; provisions
  // its IAM user and key (and the bucket) when there is no config yet.
  Status Configure(const Json& doc);
  // stanza-create; `online` false reads pg_control from the data directory
  // (before the first start).
  Status CreateStanza(const Json& doc, bool online);
  // A backup into the automated repository ("full", "diff" or "incr").
  Status Backup(const Json& doc, const std::string& type);
  // A full backup into the snapshot repository; the new backup set.
  Result<BackrestBackup> Snapshot(const Json& doc);
  // Removes one backup set from the snapshot repository, with a key made for
  // that (the snapshot outlives its instance).
  Status DeleteSnapshot(const Json& snapshot);
  // Restores into `pgdata` (an empty directory the user owns) what `from`
  // names, with a key of the target's that may read the source's prefixes;
  // recovery reads WAL with it until FinishRestore.
  Status Restore(const Json& target, const RestoreSource& from, const std::string& pgdata);
  Status FinishRestore(const Json& target);
  // Deletes the automated backups and WAL archive of a stopped instance, as
  // RDS does when an instance is deleted (its manual snapshots stay).
  Status DeleteAutomated(const Json& doc);
  // Removes the instance's backup user (its snapshots stay, as RDS keeps them).
  Status RemoveAll(const Json& doc);
  // The automated repository's stanza as `info` reports it.
  Result<BackrestStanzaInfo> Info(const Json& doc);

 private:
  // The repository at `path` with the instance's key (read back from its config).
  Result<BackrestRepo> Repo(const Json& doc, const std::string& path, BackrestRetention retention,
                            int retention_full) const;
  // The automated repository, kept for the instance's retention.
  Result<BackrestRepo> AutomatedRepo(const Json& doc) const;
  BackrestInstance Instance(const Json& doc, const std::string& pgdata) const;
  Status WriteConfig(const std::string& path, const std::string& text) const;
  // The backrest directory with the CA, owned by the instance's user.
  Status PrepareDir(const Json& doc);
  // A repository at `path` with a new key of IAM user `user`, allowed
  // `resource_id`'s prefixes.
  Result<BackrestRepo> KeyedRepo(const std::string& user, const std::string& resource_id, const std::string& path);
  std::string RestoreUser(const Json& target) const;
  Status Run(const std::vector<std::string>& argv);
  Result<std::string> RunOutput(const std::vector<std::string>& argv);
  Status EnsureBucket(const std::string& access_key_id, const std::string& secret_access_key);

  InstanceBackupsOptions o_;
  PostgresCommands& postgres_;
};

// `ms` since the epoch as PostgreSQL's recovery_target_time reads it:
// "2026-12-07 14:38:35.624+00".
std::string RecoveryTargetTime(int64_t ms);

// The IAM policy of an instance's backup user: its two prefixes of `bucket`.
std::string BackupUserPolicy(const std::string& bucket, const std::string& resource_id);

}  // namespace annex::database
