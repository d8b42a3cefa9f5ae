#include "services/database/postgres_config.h"

namespace annex::database {
namespace {

std::string Quoted(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string RenderAnnexConf(const InstanceSettings& s) {
  std::string out =
      "# Written by annexd for this instance; rewritten whole when the instance changes.\n"
      "listen_addresses = '*'\n"
      "port = " + std::to_string(s.port) + "\n"
      "unix_socket_directories = " + Quoted(s.socket_dir) + "\n"
      "unix_socket_permissions = 0700\n"
      "password_encryption = 'scram-sha-256'\n"
      "shared_buffers = " + s.memory.shared_buffers + "\n"
      "effective_cache_size = " + s.memory.effective_cache_size + "\n"
      "maintenance_work_mem = " + s.memory.maintenance_work_mem + "\n"
      "work_mem = " + s.memory.work_mem + "\n"
      "max_connections = " + s.memory.max_connections + "\n"
      "autovacuum_max_workers = " + s.memory.autovacuum_max_workers + "\n"
      // The supervisor collects stderr into the log store, as RDS exports logs.
      "logging_collector = off\n"
      "log_destination = 'stderr'\n"
      "log_line_prefix = '%t:%r:%u@%d:[%p]:'\n"
      "log_timezone = 'UTC'\n"
      "timezone = 'UTC'\n"
      // Backups: base backups and WAL archiving need replica-level WAL.
      "wal_level = replica\n"
      "max_wal_senders = 10\n";
  if (s.archive_command.empty()) {
    out += "archive_mode = off\n";
  } else {
    // Quoted for this file already (ArchiveCommand); an idle instance still archives every 5 minutes.
    out += "archive_mode = on\narchive_command = " + s.archive_command + "\narchive_timeout = 300\n";
  }
  return out;
}

}  // namespace annex::database
