#pragma once
// PostgresBinaries: the PostgreSQL this machine has (Debian's packages keep
// each major version's programs in /usr/lib/postgresql/<major>/bin) and the
// unprivileged system user instances run as — PostgreSQL refuses to run as
// root, and the package's `postgres` user owns nothing of the appliance's
// but the instance directories it is given.
//
// PostgresCommands runs that installation's tools for the database service:
// initdb and psql as the instances' user (through setpriv, no shell), and
// pg_isready. Every run goes through an os::CommandRunner, so tests can
// replace the host.
//
// Thread-safe as its runner is.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/os/command_runner.h"

namespace annex::database {

struct PostgresBinaries {
  std::string bin_dir;  // /usr/lib/postgresql/15/bin
  std::string version;  // "15.14", as `postgres --version` says
  int major = 0;        // 15
  std::string user = "postgres";
  uid_t uid = 0;
  gid_t gid = 0;
  // The full path of one of its programs: Tool("initdb").
  std::string Tool(std::string_view name) const { return bin_dir + "/" + std::string(name); }
};

// The newest major version under `root` with initdb, postgres and pg_ctl,
// and the uid/gid of `user`. FailedPrecondition saying what is missing.
Result<PostgresBinaries> FindPostgres(os::CommandRunner& runner, const std::string& root = "/usr/lib/postgresql",
                                      const std::string& user = "postgres");

// "15.14" from "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)".
Result<std::string> ParsePostgresVersion(std::string_view version_output);

class PostgresCommands {
 public:
  PostgresCommands(os::CommandRunner& runner, PostgresBinaries binaries)
      : runner_(runner), binaries_(std::move(binaries)) {}

  const PostgresBinaries& binaries() const { return binaries_; }

  // argv run as the instances' user (setpriv: its uid, gid and groups).
  std::vector<std::string> AsUser(std::vector<std::string> argv) const;

  // A new cluster in `pgdata` (an empty directory the user owns): UTF-8,
  // C.UTF-8 collation, `superuser` with the password in `password_file`,
  // SCRAM for every network login and trust on the instance's own socket
  // directory (which only the user can enter), data checksums on. The WAL
  // goes to `waldir` (pgdata/pg_wal links to it).
  Status InitDb(const std::string& pgdata, const std::string& waldir, const std::string& superuser,
                const std::string& password_file);

  // True once the server on `socket_dir`:`port` accepts connections.
  Result<bool> Ready(const std::string& socket_dir, int port);

  // Runs `sql` (on stdin, never on the command line: it may hold a password)
  // in database `dbname` as `role`, over the instance's socket; the first
  // error stops it and is returned.
  Status RunSql(const std::string& socket_dir, int port, const std::string& role, const std::string& dbname,
                std::string_view sql);

  // The output of one query (unaligned, tuples only), for reading settings and sizes.
  Result<std::string> Query(const std::string& socket_dir, int port, const std::string& role,
                            const std::string& dbname, std::string_view sql);

 private:
  os::CommandRunner& runner_;
  PostgresBinaries binaries_;
};

// `text` as a PostgreSQL string literal: 'it''s'.
std::string SqlLiteral(std::string_view text);
// `name` as a PostgreSQL identifier: "my""db".
std::string SqlIdentifier(std::string_view name);

}  // namespace annex::database
