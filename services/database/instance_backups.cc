#include "services/database/instance_backups.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"

namespace annex::database {
namespace {

std::string ResourceId(const Json& doc) { return doc.value("DbiResourceId", ""); }

// The repository paths of an instance's automated backups and of its manual snapshots.
std::string AutomatedPath(const std::string& resource_id) { return "/" + resource_id; }
std::string SnapshotPath(const std::string& resource_id) { return "/" + resource_id + "-snapshots"; }

// A value of a `key=value` line of a pgbackrest.conf.
std::string ConfigValue(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(key + "=")) return line.substr(key.size() + 1);
  }
  return "";
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

Status ChownTree(const std::string& dir, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (::chown(dir.c_str(), uid, gid) != 0) return Status::FromErrno(errno, "chown " + dir);
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != decltype(it)(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) return Status::FromErrno(errno, "chown " + it->path().string());
  }
  return Status::OK();
}

}  // namespace

std::string BackupUserPolicy(const std::string& bucket, const std::string& resource_id) {
  Json policy = {
      {"Version", "2012-10-17"},
      {"Statement",
       Json::array({
           {{"Effect", "Allow"},
            {"Action", Json::array({"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                                    "s3:ListMultipartUploadParts"})},
            {"Resource", Json::array({"arn:aws:s3:::" + bucket + "/" + resource_id + "/*",
                                      "arn:aws:s3:::" + bucket + "/" + resource_id + "-snapshots/*"})}},
           {{"Effect", "Allow"},
            {"Action", "s3:ListBucket"},
            {"Resource", "arn:aws:s3:::" + bucket},
            {"Condition", {{"StringLike", {{"s3:prefix", Json::array({resource_id + "/*", resource_id + "-snapshots/*"})}}}}}},
           {{"Effect", "Allow"}, {"Action", "s3:CreateBucket"}, {"Resource", "arn:aws:s3:::" + bucket}},
       })},
  };
  return policy.dump();
}

std::string RecoveryTargetTime(int64_t ms) {
  std::string iso = FormatIso8601Ms(ms);  // 2026-12-07T14:38:35.624Z
  iso[10] = ' ';
  iso.back() = '+';
  return iso + "00";
}

Status InstanceBackups::Available() const {
  if (!o_.users) return Status::FailedPrecondition("the appliance cannot make IAM users for backups");
  if (!o_.endpoints || o_.endpoints->tls_port.load() == 0 || o_.endpoints->http_port.load() == 0) {
    return Status::Unavailable("annexd's TLS listener is not up yet");
  }
  return Status::OK();
}

std::string InstanceBackups::Dir(const Json& doc) const { return InstanceDir(*o_.rds, doc) + "/backrest"; }
std::string InstanceBackups::ConfigPath(const Json& doc) const { return Dir(doc) + "/pgbackrest.conf"; }
std::string InstanceBackups::ArchiveCommandFor(const Json& doc) const { return ArchiveCommand(ConfigPath(doc), kStanza); }

BackrestInstance InstanceBackups::Instance(const Json& doc, const std::string& pgdata) const {
  BackrestInstance in;
  in.stanza = kStanza;
  in.pg_data_dir = pgdata;
  int port = InstancePort(doc);
  in.pg_port = static_cast<uint16_t>(port ? port : 5432);  // a scratch config (a snapshot's delete) has none
  in.socket_dir = SocketDir(*o_.rds, doc);
  in.pg_user = doc.value("MasterUsername", "postgres");
  in.log_dir = Dir(doc) + "/log";
  in.lock_dir = Dir(doc) + "/lock";
  in.spool_dir = Dir(doc) + "/spool";
  return in;
}

Result<BackrestRepo> InstanceBackups::Repo(const Json& doc, const std::string& path, BackrestRetention retention,
                                           int retention_full) const {
  ANNEX_ASSIGN_OR_RETURN(std::string text, os::ReadFileToString(os::PosixFileSystem(), ConfigPath(doc)));
  BackrestRepo repo;
  repo.endpoint_host = o_.endpoints->tls_host;
  repo.port = o_.endpoints->tls_port.load();
  repo.bucket = o_.bucket;
  repo.region = o_.rds->region;
  repo.access_key_id = ConfigValue(text, "repo1-s3-key");
  repo.secret_access_key = ConfigValue(text, "repo1-s3-key-secret");
  if (repo.access_key_id.empty() || repo.secret_access_key.empty()) {
    return Status::FailedPrecondition("no backup key in " + ConfigPath(doc));
  }
  repo.ca_file = Dir(doc) + "/ca.pem";
  repo.repo_path = path;
  repo.retention = retention;
  repo.retention_full = retention_full;
  return repo;
}

Result<BackrestRepo> InstanceBackups::AutomatedRepo(const Json& doc) const {
  return Repo(doc, AutomatedPath(ResourceId(doc)), BackrestRetention::kDays, RetentionDays(doc));
}

Status InstanceBackups::WriteConfig(const std::string& path, const std::string& text) const {
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), path, text, 0600));
  const PostgresBinaries& pg = postgres_.binaries();
  if (::chown(path.c_str(), pg.uid, pg.gid) != 0) return Status::FromErrno(errno, "chown " + path);
  return Status::OK();
}

Status InstanceBackups::EnsureBucket(const std::string& access_key_id, const std::string& secret_access_key) {
  CURL* curl = curl_easy_init();
  if (!curl) return Status::Internal("curl_easy_init failed");
  std::string url = "http://127.0.0.1:" + std::to_string(o_.endpoints->http_port.load()) + "/" + o_.bucket;
  std::string sigv4 = "aws:amz:" + o_.rds->region + ":s3";
  std::string user = access_key_id + ":" + secret_access_key;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, user.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // S3 wants the payload's hash signed too: that of the empty body.
  curl_slist* headers = curl_slist_append(
      nullptr, "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable("CreateBucket " + o_.bucket + ": " + curl_easy_strerror(rc));
  // 409 BucketAlreadyOwnedByYou: another instance made it first.
  if (status != 200 && status != 409) {
    return Status::Internal("CreateBucket " + o_.bucket + " answered " + std::to_string(status));
  }
  return Status::OK();
}

Status InstanceBackups::PrepareDir(const Json& doc) {
  ANNEX_RETURN_IF_ERROR(Available());
  const PostgresBinaries& pg = postgres_.binaries();
  std::string dir = Dir(doc);
  for (const char* sub : {"", "/log", "/lock", "/spool"}) {
    std::error_code ec;
    std::filesystem::create_directories(dir + sub, ec);
    if (ec) return Status::IOError("create " + dir + sub + ": " + ec.message());
  }
  ANNEX_ASSIGN_OR_RETURN(std::string ca, os::ReadFileToString(os::PosixFileSystem(), o_.endpoints->ca_file));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(os::PosixFileSystem(), dir + "/ca.pem", ca, 0644));
  ANNEX_RETURN_IF_ERROR(ChownTree(dir, pg.uid, pg.gid));
  if (::chmod(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod " + dir);
  return Status::OK();
}

std::string InstanceBackups::ConfigSignature(const Json& doc) const {
  return std::to_string(o_.endpoints->tls_port.load()) + "/" + std::to_string(InstancePort(doc)) + "/" +
         std::to_string(RetentionDays(doc));
}

Status InstanceBackups::Configure(const Json& doc) {
  ANNEX_RETURN_IF_ERROR(PrepareDir(doc));
  std::string dir = Dir(doc);
  std::string pgdata = InstanceDir(*o_.rds, doc) + "/volume/pgdata";
  if (!std::filesystem::exists(ConfigPath(doc))) {
    // A key of its own, in the config only: the store never holds it.
    ANNEX_ASSIGN_OR_RETURN(BackrestRepo repo, KeyedRepo("annex-rds-" + ResourceId(doc), ResourceId(doc),
                                                        AutomatedPath(ResourceId(doc))));
    repo.ca_file = dir + "/ca.pem";
    repo.retention = BackrestRetention::kDays;
    repo.retention_full = RetentionDays(doc);
    ANNEX_ASSIGN_OR_RETURN(std::string text, RenderBackrestConfig(repo, Instance(doc, pgdata)));
    ANNEX_RETURN_IF_ERROR(WriteConfig(ConfigPath(doc), text));
    // IAM keys take effect at once, but the bucket may be another instance's to make first.
    ANNEX_RETURN_IF_ERROR(EnsureBucket(repo.access_key_id, repo.secret_access_key));
    return Status::OK();
  }
  // Rewritten from what is there: the port, retention or TLS port may have changed.
  ANNEX_ASSIGN_OR_RETURN(BackrestRepo repo, AutomatedRepo(doc));
  ANNEX_ASSIGN_OR_RETURN(std::string text, RenderBackrestConfig(repo, Instance(doc, pgdata)));
  return WriteConfig(ConfigPath(doc), text);
}

Status InstanceBackups::Run(const std::vector<std::string>& argv) {
  return os::RunChecked(*o_.runner, postgres_.AsUser(argv));
}

Result<std::string> InstanceBackups::RunOutput(const std::vector<std::string>& argv) {
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, o_.runner->Run(postgres_.AsUser(argv)));
  if (!out.ok()) {
    return Status::Internal(os::CommandLine(argv) + ": exit " + std::to_string(out.exit_code) + ": " +
                            std::string(TrimWhitespace(out.err)).substr(0, 1000));
  }
  return out.out;
}

Status InstanceBackups::CreateStanza(const Json& doc, bool online) {
  std::vector<std::string> extra;
  if (!online) extra.push_back("--no-online");
  return Run(BackrestCommand(ConfigPath(doc), kStanza, "stanza-create", extra));
}

Status InstanceBackups::Backup(const Json& doc, const std::string& type) {
  return Run(BackrestCommand(ConfigPath(doc), kStanza, "backup", {"--type=" + type}));
}

Result<BackrestStanzaInfo> InstanceBackups::Info(const Json& doc) {
  ANNEX_ASSIGN_OR_RETURN(std::string json, RunOutput(BackrestCommand(ConfigPath(doc), kStanza, "info", {"--output=json"})));
  ANNEX_ASSIGN_OR_RETURN(std::vector<BackrestStanzaInfo> stanzas, ParseBackrestInfo(json));
  if (stanzas.empty()) return Status::NotFound("no stanza in the repository");
  return stanzas.front();
}

// The snapshot repository is in the instance's config only while a
// snapshot is taken: archive-push (run by postgres with that config) writes
// to every repository, and the backup waits for its WAL in repo2. The
// one-repository config is written back whatever happens.
Result<BackrestBackup> InstanceBackups::Snapshot(const Json& doc) {
  std::string pgdata = InstanceDir(*o_.rds, doc) + "/volume/pgdata";
  ANNEX_ASSIGN_OR_RETURN(BackrestRepo automated, AutomatedRepo(doc));
  ANNEX_ASSIGN_OR_RETURN(BackrestRepo snapshots,
                         Repo(doc, SnapshotPath(ResourceId(doc)), BackrestRetention::kCount, 9999999));
  ANNEX_ASSIGN_OR_RETURN(std::string two, RenderBackrestConfig({automated, snapshots}, Instance(doc, pgdata)));
  ANNEX_ASSIGN_OR_RETURN(std::string one, RenderBackrestConfig(automated, Instance(doc, pgdata)));
  std::string config = ConfigPath(doc);
  ANNEX_RETURN_IF_ERROR(WriteConfig(config, two));
  Status made = Run(BackrestCommand(config, kStanza, "stanza-create"));
  if (made.ok()) made = Run(BackrestCommand(config, kStanza, "backup", {"--repo=2", "--type=full"}));
  Result<std::string> json = made.ok() ? RunOutput(BackrestCommand(config, kStanza, "info", {"--repo=2", "--output=json"}))
                                       : Result<std::string>(made);
  ANNEX_RETURN_IF_ERROR(WriteConfig(config, one));
  if (!json.ok()) return json.status();
  ANNEX_ASSIGN_OR_RETURN(std::vector<BackrestStanzaInfo> stanzas, ParseBackrestInfo(*json));
  if (stanzas.empty() || stanzas.front().backups.empty()) return Status::Internal("the snapshot backup is not listed");
  return stanzas.front().backups.back();
}

Result<BackrestRepo> InstanceBackups::KeyedRepo(const std::string& user, const std::string& resource_id,
                                                const std::string& path) {
  ANNEX_RETURN_IF_ERROR(Available());
  ANNEX_ASSIGN_OR_RETURN(service::ServiceUserKey key,
                         o_.users->Provision(user, BackupUserPolicy(o_.bucket, resource_id)));
  BackrestRepo repo;
  repo.endpoint_host = o_.endpoints->tls_host;
  repo.port = o_.endpoints->tls_port.load();
  repo.bucket = o_.bucket;
  repo.region = o_.rds->region;
  repo.access_key_id = key.access_key_id;
  repo.secret_access_key = key.secret_access_key;
  repo.repo_path = path;
  repo.retention = BackrestRetention::kCount;
  repo.retention_full = 9999999;
  return repo;
}

Status InstanceBackups::DeleteSnapshot(const Json& snapshot) {
  const Json& p = snapshot[kPrivate];
  std::string label = p.value("label", "");
  if (label.empty()) return Status::OK();  // never made
  // The snapshot outlives its instance: a key and a config of its own, for this one command.
  std::string source = snapshot.value("DbiResourceId", "");
  std::string user = "annex-rds-del-" + p.value("id", source);
  ANNEX_ASSIGN_OR_RETURN(BackrestRepo repo, KeyedRepo(user, source, SnapshotPath(source)));
  std::string dir = o_.rds->instances_dir + "/.snapshot-" + p.value("id", source);
  Json scratch = {{"DbiResourceId", ".snapshot-" + p.value("id", source)}, {"MasterUsername", "postgres"}};
  Status s = PrepareDir(scratch);
  repo.ca_file = Dir(scratch) + "/ca.pem";
  Result<std::string> text = s.ok() ? RenderBackrestConfig(repo, Instance(scratch, dir + "/volume/pgdata"))
                                    : Result<std::string>(s);
  if (text.ok()) s = WriteConfig(Dir(scratch) + "/delete.conf", *text);
  else s = text.status();
  if (s.ok()) s = Run(BackrestCommand(Dir(scratch) + "/delete.conf", kStanza, "expire", {"--set=" + label}));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Status removed = o_.users->Remove(user);
  return s.ok() ? removed : s;
}

Status InstanceBackups::Restore(const Json& target, const RestoreSource& from, const std::string& pgdata) {
  ANNEX_RETURN_IF_ERROR(PrepareDir(target));
  std::string path = from.snapshots ? SnapshotPath(from.resource_id) : AutomatedPath(from.resource_id);
  ANNEX_ASSIGN_OR_RETURN(BackrestRepo repo, KeyedRepo(RestoreUser(target), from.resource_id, path));
  repo.ca_file = Dir(target) + "/ca.pem";
  ANNEX_ASSIGN_OR_RETURN(std::string text, RenderBackrestConfig(repo, Instance(target, pgdata)));
  // Recovery fetches WAL through this config (restore_command): it stays until the instance is available.
  std::string config = Dir(target) + "/restore.conf";
  ANNEX_RETURN_IF_ERROR(WriteConfig(config, text));
  // Recovery to a time stops before the first commit later than it, and
  // pgBackRest starts from the newest backup that ended before it.
  std::vector<std::string> target_options =
      from.label.empty()
          ? std::vector<std::string>{"--type=time", "--target=" + RecoveryTargetTime(from.time_ms)}
          : std::vector<std::string>{"--set=" + from.label, "--type=immediate"};
  target_options.push_back("--target-action=promote");
  // pg_wal is a link out of the volume: the new instance's own WAL directory.
  target_options.push_back("--link-map=pg_wal=" + WalDir(*o_.rds, target));
  return Run(BackrestCommand(config, kStanza, "restore", target_options));
}

Status InstanceBackups::FinishRestore(const Json& target) {
  std::error_code ec;
  std::filesystem::remove(Dir(target) + "/restore.conf", ec);
  return o_.users->Remove(RestoreUser(target));
}

std::string InstanceBackups::RestoreUser(const Json& target) const { return "annex-rds-restore-" + ResourceId(target); }

Status InstanceBackups::DeleteAutomated(const Json& doc) {
  std::string config = ConfigPath(doc);
  if (!std::filesystem::exists(config)) return Status::OK();  // backups were never configured
  // stanza-delete wants pgBackRest stopped for the stanza first, and waits
  // for its locks: stop --force also ends an archive-push the stopped
  // postgres left running. stanza-delete --force: the data directory's
  // volume may already be gone.
  ANNEX_RETURN_IF_ERROR(Run(BackrestCommand(config, kStanza, "stop", {"--force"})));
  return Run(BackrestCommand(config, kStanza, "stanza-delete", {"--force"}));
}

Status InstanceBackups::RemoveAll(const Json& doc) {
  return o_.users ? o_.users->Remove("annex-rds-" + ResourceId(doc)) : Status::OK();
}

}  // namespace annex::database
