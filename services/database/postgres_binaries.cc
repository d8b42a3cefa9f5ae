#include "services/database/postgres_binaries.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "appliance/core/strings.h"

namespace annex::database {
namespace {

constexpr const char* kSetpriv = "/usr/bin/setpriv";

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// psql as the instances' user over the instance's socket: no ~/.psqlrc, no
// password prompt, the first error ends the run.
std::vector<std::string> PsqlArgv(const PostgresBinaries& b, const std::string& socket_dir, int port,
                                  const std::string& role, const std::string& dbname) {
  return {b.Tool("psql"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1", "-h", socket_dir, "-p", std::to_string(port),
          "-U", role, "-d", dbname};
}

}  // namespace

Result<std::string> ParsePostgresVersion(std::string_view out) {
  constexpr std::string_view kMarker = "(PostgreSQL) ";
  size_t at = out.find(kMarker);
  if (at == std::string_view::npos) return Status::InvalidArgument("not a PostgreSQL version: " + std::string(out));
  std::string_view rest = out.substr(at + kMarker.size());
  size_t end = 0;
  while (end < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[end])) || rest[end] == '.')) ++end;
  if (end == 0) return Status::InvalidArgument("not a PostgreSQL version: " + std::string(out));
  return std::string(rest.substr(0, end));
}

Result<PostgresBinaries> FindPostgres(os::CommandRunner& runner, const std::string& root, const std::string& user) {
  PostgresBinaries b;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    int major = std::atoi(entry.path().filename().c_str());
    std::string bin = entry.path().string() + "/bin";
    if (major < 15 || major <= b.major) continue;
    if (!Executable(bin + "/initdb") || !Executable(bin + "/postgres") || !Executable(bin + "/psql")) continue;
    b.major = major;
    b.bin_dir = bin;
  }
  if (b.major == 0) {
    return Status::FailedPrecondition("no PostgreSQL 15 or later under " + root + " (Debian's postgresql-15 package)");
  }
  if (!Executable(kSetpriv)) return Status::FailedPrecondition(std::string(kSetpriv) + " is missing (util-linux)");
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, runner.Run({b.Tool("postgres"), "--version"}));
  if (!out.ok()) return Status::FailedPrecondition(b.Tool("postgres") + " --version failed: " + out.err);
  ANNEX_ASSIGN_OR_RETURN(b.version, ParsePostgresVersion(out.out));
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    return Status::FailedPrecondition("no system user '" + user + "' to run PostgreSQL as (it refuses root)");
  }
  if (found->pw_uid == 0) return Status::FailedPrecondition("user '" + user + "' is root; PostgreSQL refuses root");
  b.user = user;
  b.uid = found->pw_uid;
  b.gid = found->pw_gid;
  return b;
}

std::vector<std::string> PostgresCommands::AsUser(std::vector<std::string> argv) const {
  std::vector<std::string> out = {kSetpriv, "--reuid=" + std::to_string(binaries_.uid),
                                  "--regid=" + std::to_string(binaries_.gid), "--init-groups", "--"};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

Status PostgresCommands::InitDb(const std::string& pgdata, const std::string& waldir, const std::string& superuser,
                                const std::string& password_file) {
  return os::RunChecked(runner_, AsUser({binaries_.Tool("initdb"), "--pgdata=" + pgdata, "--waldir=" + waldir,
                                         "--username=" + superuser,
                                         "--pwfile=" + password_file, "--encoding=UTF8", "--locale=C.UTF-8",
                                         "--auth-host=scram-sha-256", "--auth-local=trust", "--data-checksums",
                                         "--no-instructions"}));
}

Result<bool> PostgresCommands::Ready(const std::string& socket_dir, int port) {
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, runner_.Run({binaries_.Tool("pg_isready"), "-q", "-h", socket_dir,
                                                             "-p", std::to_string(port), "-t", "1"}));
  return out.exit_code == 0;
}

Status PostgresCommands::RunSql(const std::string& socket_dir, int port, const std::string& role,
                                const std::string& dbname, std::string_view sql) {
  std::vector<std::string> argv = PsqlArgv(binaries_, socket_dir, port, role, dbname);
  argv.push_back("-f");
  argv.push_back("-");
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, runner_.Run(AsUser(std::move(argv)), sql));
  if (out.ok()) return Status::OK();
  return Status::Internal("psql: " + std::string(TrimWhitespace(out.err)).substr(0, 1000));
}

Result<std::string> PostgresCommands::Query(const std::string& socket_dir, int port, const std::string& role,
                                            const std::string& dbname, std::string_view sql) {
  std::vector<std::string> argv = PsqlArgv(binaries_, socket_dir, port, role, dbname);
  argv.insert(argv.end(), {"-A", "-t", "-f", "-"});
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, runner_.Run(AsUser(std::move(argv)), sql));
  if (!out.ok()) return Status::Internal("psql: " + std::string(TrimWhitespace(out.err)).substr(0, 1000));
  return std::string(TrimWhitespace(out.out));
}

std::string SqlLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string SqlIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

}  // namespace annex::database
