#pragma once
// pgBackRest for database instances: the pgbackrest.conf each PostgreSQL
// instance backs up with, the argv of the commands the service runs, the
// archive_command line for postgresql.conf, and a reader of
// `pgbackrest info --output=json`.
//
// Every instance archives WAL and stores base backups in the appliance's own
// object store through its S3 API over HTTPS (pgBackRest speaks S3 only over
// TLS), one repository path per instance. The shapes here are the ones proven
// against a real annexd with pgBackRest 2.45 and PostgreSQL 15; see
// docs/backups-pgbackrest.md for the command sequence and why each option is
// set as it is.
//
// Thread safety: pure functions over values.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::database {

// The binary every command line names: Debian's package installs it here, and
// archive_command runs with the postgres user's PATH, so it is absolute.
inline constexpr std::string_view kPgBackrestBinary = "/usr/bin/pgbackrest";

// How a repository keeps full backups: by age (the RDS backup retention
// period, which is also the point-in-time window) or by number (a repository
// of manual snapshots, which only an explicit `expire --set` deletes).
enum class BackrestRetention { kDays, kCount };

// One S3 repository: where an instance's backups and WAL live. Rendered as
// repo<N>-* options. The endpoint must be a DNS name the annexd server
// certificate carries (pgBackRest 2.45 matches the host against DNS names
// only, never IP-address SANs, so "127.0.0.1" fails verification even though
// the certificate lists it): "localhost" on the appliance itself.
struct BackrestRepo {
  std::string endpoint_host = "localhost";  // repo-s3-endpoint; also the TLS name checked
  uint16_t port = 443;                      // repo-storage-port: annexd's --tls-listen port
  std::string bucket;                       // repo-s3-bucket (exists already)
  std::string region = "us-east-1";         // repo-s3-region: must equal annexd's --region
  std::string access_key_id;                // repo-s3-key
  std::string secret_access_key;            // repo-s3-key-secret
  // repo-s3-token: the session token of temporary (STS) credentials; empty
  // for an IAM user's long-term key. Temporary credentials expire, and
  // archive_command runs at any time: whoever sets one rewrites the file
  // before the expiry.
  std::string session_token;
  std::string ca_file;     // repo-storage-ca-file: annexd's CA certificate (PEM), readable by postgres
  bool verify_tls = true;  // repo-storage-verify-tls; off only for tests
  bool path_style = true;  // repo-s3-uri-style=path; host style needs DNS for <bucket>.<endpoint>
  // repo-path: this instance's prefix in the bucket, absolute ("/db-ABC123");
  // never shared by two instances.
  std::string repo_path;
  BackrestRetention retention = BackrestRetention::kDays;  // repo-retention-full-type: time or count
  // repo-retention-full: days (kDays, 1..9999999: pgBackRest keeps the full
  // backups and WAL needed to restore to any time in the last N days) or
  // full backups kept (kCount, 1..9999999).
  int retention_full = 7;
  // repo-bundle: small files are combined into a few objects (a 984-file
  // cluster's full backup: 18 objects and one multipart upload, not ~990).
  bool bundle = true;
};

// One PostgreSQL instance and the local directories pgBackRest uses for it.
// All paths are absolute and writable by the postgres OS user.
struct BackrestInstance {
  // The stanza: pgBackRest's name for the cluster, also part of the object
  // keys (<repo-path>/archive/<stanza>/...). Letters, digits, '.', '_', '-'.
  std::string stanza;
  std::string pg_data_dir;  // pg1-path
  uint16_t pg_port = 5432;  // pg1-port: also names the socket file .s.PGSQL.<port>
  std::string socket_dir;   // pg1-socket-path: the instance's unix_socket_directories
  // pg1-user / pg1-database: pgBackRest connects over the unix socket as this
  // role (peer authentication in pg_hba.conf: no password to store) to this
  // database, which the customer must not be able to drop.
  std::string pg_user = "postgres";
  std::string pg_database = "postgres";
  std::string log_dir;                // log-path: <stanza>-<command>.log files, never rotated by pgBackRest
  std::string lock_dir;               // lock-path
  std::string spool_dir;              // spool-path: the async archive queue
  int process_max = 2;                // process-max: parallel compress/transfer processes
  std::string compress_type = "zst";  // compress-type: zst, lz4, gz, bz2 or none
  // archive-async for archive-get: it prefetches WAL during recovery.
  // archive-push is always synchronous (RenderBackrestConfig says why).
  bool archive_async = true;
};

// Checks that the settings render into a config pgBackRest reads as meant: no
// value may hold a newline or start or end with a space (the file has no
// quoting), paths are absolute, numbers in range, the stanza well formed
// (and not "global", the section of the repository options).
Status ValidateBackrestSettings(const std::vector<BackrestRepo>& repos, const BackrestInstance& instance);

// The pgbackrest.conf text for `instance` backing up to `repo` (as repo1).
// It holds the S3 secret: write it 0600, owned by the postgres user.
// InvalidArgument when ValidateBackrestSettings fails.
Result<std::string> RenderBackrestConfig(const BackrestRepo& repo, const BackrestInstance& instance);

// The same with several repositories, numbered repo1..repoN in order. Used
// while a manual snapshot is taken: repo2 is the snapshot repository, which
// must receive WAL (archive-push writes to every repo) until the backup ends.
Result<std::string> RenderBackrestConfig(const std::vector<BackrestRepo>& repos, const BackrestInstance& instance);

// The argv of one pgBackRest command: the binary, --config=<config_path>
// (which also keeps /etc/pgbackrest.conf and /etc/pgbackrest/conf.d out),
// --stanza=<stanza>, the verb, then `extra` (options such as "--type=full",
// or parameters such as a WAL path). Run it as the postgres user.
std::vector<std::string> BackrestCommand(std::string_view config_path, std::string_view stanza, std::string_view verb,
                                         const std::vector<std::string>& extra = {},
                                         std::string_view pgbackrest = kPgBackrestBinary);

// The archive_command value for postgresql.conf, quoted as that file wants it:
//   '/usr/bin/pgbackrest --config=<path> --stanza=<stanza> archive-push %p'
// Each word is shell-quoted when it needs to be, '%' in it is doubled (the
// server expands %p/%f/%%), then single quotes and backslashes are doubled
// for the configuration file.
std::string ArchiveCommand(std::string_view config_path, std::string_view stanza,
                           std::string_view pgbackrest = kPgBackrestBinary);

// One backup set from `pgbackrest info --output=json`.
struct BackrestBackup {
  std::string label;           // "20261207-143738F", "…_20261207-143749I": the argument of --set
  std::string type;            // "full", "diff" or "incr"
  std::string prior;           // the backup it depends on; empty for a full backup
  int64_t start_time = 0;      // unix seconds the backup started (RDS SnapshotCreateTime)
  int64_t stop_time = 0;       // unix seconds it was consistent
  uint64_t database_size = 0;  // bytes of the cluster's files when backed up
  uint64_t backup_size = 0;    // bytes this backup copied (all of it for a full backup)
  uint64_t repo_size = 0;      // bytes in the repository to restore it, references included (compressed)
  uint64_t repo_delta = 0;     // bytes this backup added to the repository
  std::string wal_start;       // first WAL segment needed for consistency
  std::string wal_stop;        // last one
  bool error = false;          // pgBackRest found page checksum errors while copying
};

// One stanza's state in a repository.
struct BackrestStanzaInfo {
  std::string name;  // the stanza
  // 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data,
  // 4-6 repositories disagree or a requested backup is missing, 99 other (status_message then holds pgBackRest's error,
  // e.g. the S3 answer).
  int status_code = 0;
  std::string status_message;
  bool backup_lock_held = false;  // a backup of this stanza is running
  // The WAL archive range of the current database (empty when none): the
  // archive pgBackRest can replay from, for point-in-time restores.
  std::string archive_min;
  std::string archive_max;
  std::vector<BackrestBackup> backups;  // oldest first
};

// Parses `pgbackrest info --output=json` (an array of stanzas). Corruption
// when the text is not that shape; never throws.
Result<std::vector<BackrestStanzaInfo>> ParseBackrestInfo(std::string_view json);

}  // namespace annex::database
