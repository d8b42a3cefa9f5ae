#pragma once
// The configuration annexd gives each PostgreSQL instance. initdb writes
// postgresql.conf with PostgreSQL's defaults; annexd appends one line to it,
// `include 'annex.conf'`, and owns annex.conf, rewriting it whole whenever
// the instance changes (class, port, backups) — so the settings RDS manages
// live in one file of annexd's, and everything else stays PostgreSQL's.
//
// Pure functions; thread-safe.

#include <string>

#include "services/database/instance_classes.h"

namespace annex::database {

struct InstanceSettings {
  int port = 5432;
  std::string socket_dir;      // unix_socket_directories: the instance's own, only its user enters it
  PostgresSettings memory;     // from the instance class (instance_classes.h)
  // A postgresql.conf value, already quoted for the file (backrest_config.h's
  // ArchiveCommand); empty: WAL is not archived.
  std::string archive_command;
};

// annex.conf's text. Logs go to stderr (the supervisor forwards them to the
// log store, /aws/rds/instance/<id>/postgresql) with RDS's line prefix;
// passwords are SCRAM; WAL is kept for backups.
std::string RenderAnnexConf(const InstanceSettings& settings);

// The line appended to initdb's postgresql.conf.
inline constexpr const char* kIncludeAnnexConf = "include 'annex.conf'\n";

}  // namespace annex::database
