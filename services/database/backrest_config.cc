#include "services/database/backrest_config.h"

#include <algorithm>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace annex::database {
namespace {

using Json = nlohmann::json;

constexpr int kMaxRetention = 9999999;  // pgBackRest's bound for repo-retention-full
constexpr int kMaxProcesses = 999;      // and for process-max

bool IsStanzaChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// A config value: pgBackRest reads "key=value" up to the end of the line and
// trims blanks, with no quoting, so a newline would start a new option.
Status CheckValue(std::string_view name, std::string_view value, bool required) {
  if (value.empty()) {
    return required ? Status::InvalidArgument(std::string(name) + " is empty") : Status::OK();
  }
  for (char c : value) {
    if (c == '\n' || c == '\r' || c == '\0') {
      return Status::InvalidArgument(std::string(name) + " holds a line break or NUL");
    }
  }
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  if (blank(value.front()) || blank(value.back())) {
    return Status::InvalidArgument(std::string(name) + " starts or ends with a blank");
  }
  return Status::OK();
}

Status CheckPath(std::string_view name, std::string_view path) {
  ANNEX_RETURN_IF_ERROR(CheckValue(name, path, /*required=*/true));
  if (path.front() != '/') return Status::InvalidArgument(std::string(name) + " is not an absolute path");
  return Status::OK();
}

Status CheckRepo(const BackrestRepo& r, int n) {
  const std::string p = "repo" + std::to_string(n) + " ";
  ANNEX_RETURN_IF_ERROR(CheckValue(p + "endpoint_host", r.endpoint_host, true));
  if (r.endpoint_host.find_first_of(" /:") != std::string::npos) {
    return Status::InvalidArgument(p + "endpoint_host must be a bare host name");
  }
  if (r.port == 0) return Status::InvalidArgument(p + "port is 0");
  ANNEX_RETURN_IF_ERROR(CheckValue(p + "bucket", r.bucket, true));
  ANNEX_RETURN_IF_ERROR(CheckValue(p + "region", r.region, true));
  ANNEX_RETURN_IF_ERROR(CheckValue(p + "access_key_id", r.access_key_id, true));
  ANNEX_RETURN_IF_ERROR(CheckValue(p + "secret_access_key", r.secret_access_key, true));
  ANNEX_RETURN_IF_ERROR(CheckValue(p + "session_token", r.session_token, false));
  if (!r.ca_file.empty()) ANNEX_RETURN_IF_ERROR(CheckPath(p + "ca_file", r.ca_file));
  ANNEX_RETURN_IF_ERROR(CheckPath(p + "repo_path", r.repo_path));
  if (r.repo_path == "/") return Status::InvalidArgument(p + "repo_path is the bucket's root");
  if (r.retention_full < 1 || r.retention_full > kMaxRetention) {
    return Status::InvalidArgument(p + "retention_full is outside 1.." + std::to_string(kMaxRetention));
  }
  return Status::OK();
}

void Line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key).append("=").append(value).append("\n");
}

void RepoLines(std::string& out, const BackrestRepo& r, int n) {
  const std::string p = "repo" + std::to_string(n) + "-";
  out += "# repo" + std::to_string(n) + ": s3://" + r.bucket + r.repo_path + "\n";
  Line(out, p + "type", "s3");
  Line(out, p + "s3-endpoint", r.endpoint_host);
  Line(out, p + "storage-port", std::to_string(r.port));
  Line(out, p + "s3-uri-style", r.path_style ? "path" : "host");
  Line(out, p + "s3-region", r.region);
  Line(out, p + "s3-bucket", r.bucket);
  Line(out, p + "s3-key", r.access_key_id);
  Line(out, p + "s3-key-secret", r.secret_access_key);
  if (!r.session_token.empty()) Line(out, p + "s3-token", r.session_token);
  if (!r.ca_file.empty()) Line(out, p + "storage-ca-file", r.ca_file);
  Line(out, p + "storage-verify-tls", r.verify_tls ? "y" : "n");
  Line(out, p + "path", r.repo_path);
  Line(out, p + "bundle", r.bundle ? "y" : "n");
  Line(out, p + "retention-full-type", r.retention == BackrestRetention::kDays ? "time" : "count");
  Line(out, p + "retention-full", std::to_string(r.retention_full));
}

// A word for /bin/sh: as is when it holds only characters the shell leaves
// alone, else in single quotes ('\'' for a quote inside).
std::string ShellWord(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("_-./=:,+@%").find(c) != std::string_view::npos;
    if (!ok) plain = false;
  }
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A word of archive_command: the server replaces %p, %f, %r and %%, so a
// literal '%' is written "%%".
std::string PercentEscaped(std::string_view word) {
  std::string out;
  for (char c : word) {
    out += c;
    if (c == '%') out += '%';
  }
  return out;
}

// --- info JSON -----------------------------------------------------------

Status Bad(std::string_view what) { return Status::Corruption("pgbackrest info: " + std::string(what)); }

// The member `key` of `obj`, or nullptr when absent or null.
const Json* Member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status GetString(const Json& obj, const char* key, std::string* out, bool required) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return required ? Bad(std::string(key) + " is missing") : Status::OK();
  if (!v->is_string()) return Bad(std::string(key) + " is not a string");
  *out = v->get<std::string>();
  return Status::OK();
}

template <typename T>
Status GetNumber(const Json& obj, const char* key, T* out) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return Bad(std::string(key) + " is missing");
  if constexpr (std::is_unsigned_v<T>) {
    if (!v->is_number_unsigned()) return Bad(std::string(key) + " is not a non-negative integer");
  } else {
    if (!v->is_number_integer()) return Bad(std::string(key) + " is not an integer");
  }
  *out = v->get<T>();
  return Status::OK();
}

// The object member `key`, which must be there.
Result<const Json*> ObjectMember(const Json& obj, const char* key) {
  const Json* v = Member(obj, key);
  if (v == nullptr || !v->is_object()) return Bad(std::string(key) + " is not an object");
  return v;
}

Result<BackrestBackup> ParseBackup(const Json& b) {
  if (!b.is_object()) return Bad("a backup is not an object");
  BackrestBackup out;
  ANNEX_RETURN_IF_ERROR(GetString(b, "label", &out.label, true));
  ANNEX_RETURN_IF_ERROR(GetString(b, "type", &out.type, true));
  ANNEX_RETURN_IF_ERROR(GetString(b, "prior", &out.prior, false));
  ANNEX_ASSIGN_OR_RETURN(const Json* ts, ObjectMember(b, "timestamp"));
  ANNEX_RETURN_IF_ERROR(GetNumber(*ts, "start", &out.start_time));
  ANNEX_RETURN_IF_ERROR(GetNumber(*ts, "stop", &out.stop_time));
  ANNEX_ASSIGN_OR_RETURN(const Json* info, ObjectMember(b, "info"));
  ANNEX_RETURN_IF_ERROR(GetNumber(*info, "size", &out.database_size));
  ANNEX_RETURN_IF_ERROR(GetNumber(*info, "delta", &out.backup_size));
  ANNEX_ASSIGN_OR_RETURN(const Json* repo, ObjectMember(*info, "repository"));
  ANNEX_RETURN_IF_ERROR(GetNumber(*repo, "size", &out.repo_size));
  ANNEX_RETURN_IF_ERROR(GetNumber(*repo, "delta", &out.repo_delta));
  if (const Json* archive = Member(b, "archive")) {
    if (!archive->is_object()) return Bad("backup archive is not an object");
    ANNEX_RETURN_IF_ERROR(GetString(*archive, "start", &out.wal_start, false));
    ANNEX_RETURN_IF_ERROR(GetString(*archive, "stop", &out.wal_stop, false));
  }
  if (const Json* error = Member(b, "error")) {
    if (!error->is_boolean()) return Bad("backup error is not a boolean");
    out.error = error->get<bool>();
  }
  return out;
}

Status ParseStatus(const Json& stanza, BackrestStanzaInfo& out) {
  ANNEX_ASSIGN_OR_RETURN(const Json* status, ObjectMember(stanza, "status"));
  ANNEX_RETURN_IF_ERROR(GetNumber(*status, "code", &out.status_code));
  ANNEX_RETURN_IF_ERROR(GetString(*status, "message", &out.status_message, false));
  if (const Json* lock = Member(*status, "lock"); lock != nullptr && lock->is_object()) {
    if (const Json* backup = Member(*lock, "backup"); backup != nullptr && backup->is_object()) {
      if (const Json* held = Member(*backup, "held"); held != nullptr && held->is_boolean()) {
        out.backup_lock_held = held->get<bool>();
      }
    }
  }
  // "other" says nothing: the repository's status carries the error itself.
  if (out.status_code == 99) {
    if (const Json* repos = Member(stanza, "repo"); repos != nullptr && repos->is_array()) {
      for (const Json& r : *repos) {
        const Json* s = r.is_object() ? Member(r, "status") : nullptr;
        if (s == nullptr || !s->is_object()) continue;
        const Json* code = Member(*s, "code");
        const Json* message = Member(*s, "message");
        if (code != nullptr && code->is_number_integer() && code->get<int>() != 0 && message != nullptr &&
            message->is_string()) {
          out.status_message = message->get<std::string>();
          break;
        }
      }
    }
  }
  return Status::OK();
}

// The archive range of the current database: the "archive" entry whose
// database id is the highest one listed under "db".
Status ParseArchive(const Json& stanza, BackrestStanzaInfo& out) {
  const Json* archives = Member(stanza, "archive");
  if (archives == nullptr) return Status::OK();
  if (!archives->is_array()) return Bad("archive is not a list");
  int64_t current_db = -1;
  if (const Json* dbs = Member(stanza, "db")) {
    if (!dbs->is_array()) return Bad("db is not a list");
    for (const Json& db : *dbs) {
      int64_t id = 0;
      if (!db.is_object()) return Bad("a db entry is not an object");
      ANNEX_RETURN_IF_ERROR(GetNumber(db, "id", &id));
      current_db = std::max(current_db, id);
    }
  }
  for (const Json& a : *archives) {
    if (!a.is_object()) return Bad("an archive entry is not an object");
    ANNEX_ASSIGN_OR_RETURN(const Json* database, ObjectMember(a, "database"));
    int64_t id = 0;
    ANNEX_RETURN_IF_ERROR(GetNumber(*database, "id", &id));
    if (id != current_db) continue;
    ANNEX_RETURN_IF_ERROR(GetString(a, "min", &out.archive_min, false));
    ANNEX_RETURN_IF_ERROR(GetString(a, "max", &out.archive_max, false));
  }
  return Status::OK();
}

}  // namespace

Status ValidateBackrestSettings(const std::vector<BackrestRepo>& repos, const BackrestInstance& instance) {
  if (repos.empty()) return Status::InvalidArgument("no repository");
  if (repos.size() > 256) return Status::InvalidArgument("more than 256 repositories");
  for (size_t i = 0; i < repos.size(); ++i) ANNEX_RETURN_IF_ERROR(CheckRepo(repos[i], static_cast<int>(i + 1)));
  for (size_t i = 0; i < repos.size(); ++i) {
    for (size_t j = i + 1; j < repos.size(); ++j) {
      if (repos[i].bucket == repos[j].bucket && repos[i].repo_path == repos[j].repo_path) {
        return Status::InvalidArgument("two repositories share " + repos[i].bucket + repos[i].repo_path);
      }
    }
  }
  const BackrestInstance& in = instance;
  if (in.stanza.empty() || in.stanza.size() > 64) return Status::InvalidArgument("stanza is empty or too long");
  for (char c : in.stanza) {
    if (!IsStanzaChar(c)) return Status::InvalidArgument("stanza may hold only letters, digits, '.', '_', '-'");
  }
  if (in.stanza.front() == '.' || in.stanza.front() == '-') {
    return Status::InvalidArgument("stanza must start with a letter, digit or '_'");
  }
  // The section [global] holds the repository options.
  if (in.stanza == "global") return Status::InvalidArgument("stanza may not be named global");
  ANNEX_RETURN_IF_ERROR(CheckPath("pg_data_dir", in.pg_data_dir));
  if (in.pg_port == 0) return Status::InvalidArgument("pg_port is 0");
  ANNEX_RETURN_IF_ERROR(CheckPath("socket_dir", in.socket_dir));
  ANNEX_RETURN_IF_ERROR(CheckValue("pg_user", in.pg_user, true));
  ANNEX_RETURN_IF_ERROR(CheckValue("pg_database", in.pg_database, true));
  ANNEX_RETURN_IF_ERROR(CheckPath("log_dir", in.log_dir));
  ANNEX_RETURN_IF_ERROR(CheckPath("lock_dir", in.lock_dir));
  ANNEX_RETURN_IF_ERROR(CheckPath("spool_dir", in.spool_dir));
  if (in.process_max < 1 || in.process_max > kMaxProcesses) {
    return Status::InvalidArgument("process_max is outside 1.." + std::to_string(kMaxProcesses));
  }
  static constexpr std::string_view kCompress[] = {"zst", "lz4", "gz", "bz2", "none"};
  bool known = false;
  for (auto c : kCompress) known = known || in.compress_type == c;
  if (!known) return Status::InvalidArgument("compress_type must be zst, lz4, gz, bz2 or none");
  return Status::OK();
}

Result<std::string> RenderBackrestConfig(const BackrestRepo& repo, const BackrestInstance& instance) {
  return RenderBackrestConfig(std::vector<BackrestRepo>{repo}, instance);
}

Result<std::string> RenderBackrestConfig(const std::vector<BackrestRepo>& repos, const BackrestInstance& instance) {
  ANNEX_RETURN_IF_ERROR(ValidateBackrestSettings(repos, instance));
  const BackrestInstance& in = instance;
  std::string out;
  out += "# pgBackRest for stanza " + in.stanza + ", written by annexd (services/database): do not edit.\n";
  out += "[global]\n";
  for (size_t i = 0; i < repos.size(); ++i) RepoLines(out, repos[i], static_cast<int>(i + 1));
  out += "# how commands run\n";
  Line(out, "process-max", std::to_string(in.process_max));
  Line(out, "compress-type", in.compress_type);
  Line(out, "archive-async", in.archive_async ? "y" : "n");
  Line(out, "spool-path", in.spool_dir);
  Line(out, "lock-path", in.lock_dir);
  Line(out, "log-path", in.log_dir);
  Line(out, "log-level-console", "warn");
  Line(out, "log-level-file", "info");
  // Backups start now rather than at the next scheduled checkpoint.
  Line(out, "start-fast", "y");
  out += "\n";
  // archive-push and archive-get run once per WAL segment: their log files
  // would grow without bound at info.
  out += "[global:archive-push]\n";
  Line(out, "log-level-file", "warn");
  // Each push reads the config as it is now. An asynchronous pusher lives
  // on with the config it started with: after annexd moves its S3 port (a
  // restart) it kept retrying the old one for minutes while later pushes
  // waited on it, and a snapshot's extra repository never got the segment
  // its backup waits for. archive-get stays asynchronous (prefetch).
  Line(out, "archive-async", "n");
  out += "\n[global:archive-get]\n";
  Line(out, "log-level-file", "warn");
  out += "\n[" + in.stanza + "]\n";
  Line(out, "pg1-path", in.pg_data_dir);
  Line(out, "pg1-port", std::to_string(in.pg_port));
  Line(out, "pg1-socket-path", in.socket_dir);
  Line(out, "pg1-user", in.pg_user);
  Line(out, "pg1-database", in.pg_database);
  return out;
}

std::vector<std::string> BackrestCommand(std::string_view config_path, std::string_view stanza, std::string_view verb,
                                         const std::vector<std::string>& extra, std::string_view pgbackrest) {
  std::vector<std::string> argv;
  argv.reserve(4 + extra.size());
  argv.emplace_back(pgbackrest);
  argv.push_back("--config=" + std::string(config_path));
  argv.push_back("--stanza=" + std::string(stanza));
  argv.emplace_back(verb);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string ArchiveCommand(std::string_view config_path, std::string_view stanza, std::string_view pgbackrest) {
  std::string shell;
  std::vector<std::string> words = BackrestCommand(config_path, stanza, "archive-push", {}, pgbackrest);
  for (const std::string& word : words) {
    shell += ShellWord(PercentEscaped(word));
    shell += ' ';
  }
  shell += "%p";
  std::string quoted = "'";
  for (char c : shell) {
    if (c == '\'' || c == '\\') quoted += c;
    quoted += c;
  }
  return quoted + "'";
}

Result<std::vector<BackrestStanzaInfo>> ParseBackrestInfo(std::string_view json) {
  Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("not JSON");
  if (!doc.is_array()) return Bad("not a list of stanzas");
  std::vector<BackrestStanzaInfo> out;
  for (const Json& s : doc) {
    if (!s.is_object()) return Bad("a stanza is not an object");
    BackrestStanzaInfo info;
    ANNEX_RETURN_IF_ERROR(GetString(s, "name", &info.name, true));
    ANNEX_RETURN_IF_ERROR(ParseStatus(s, info));
    ANNEX_RETURN_IF_ERROR(ParseArchive(s, info));
    if (const Json* backups = Member(s, "backup")) {
      if (!backups->is_array()) return Bad("backup is not a list");
      for (const Json& b : *backups) {
        ANNEX_ASSIGN_OR_RETURN(BackrestBackup backup, ParseBackup(b));
        info.backups.push_back(std::move(backup));
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace annex::database
