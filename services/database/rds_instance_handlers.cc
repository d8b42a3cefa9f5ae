// The instance operations: CreateDBInstance, DescribeDBInstances,
// ModifyDBInstance, DeleteDBInstance, RebootDBInstance, StopDBInstance,
// StartDBInstance. Each records what the caller asked for and answers at
// once; the instance reconciler acts on it (instance_reconciler.h).

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/file_system.h"
#include "appliance/os/random.h"
#include "services/database/instance_reconciler.h"
#include "services/database/rds_call.h"
#include "services/database/rds_validation.h"
#include "services/database/rds_xml.h"

namespace annex::database {
namespace {

constexpr int kFirstPort = 5433;  // 5432 is left to the machine's own PostgreSQL, if any
constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

Json& Intent(Json& doc) { return doc[kPrivate]["intent"]; }

std::string StoredStatus(const Json& doc) { return doc.value("DBInstanceStatus", ""); }

// Whether nothing on this machine listens on `port` (it could be bound now).
bool PortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

// The daily backup window and weekly maintenance window RDS would pick:
// half an hour each, apart, in the small hours UTC.
std::pair<std::string, std::string> DefaultWindows(const std::string& identifier) {
  size_t h = std::hash<std::string>{}(identifier);
  int hour = static_cast<int>(h % 6);  // 00:00-05:30
  char backup[16], maintenance[32];
  std::snprintf(backup, sizeof backup, "%02d:%02d-%02d:%02d", hour, 0, hour, 30);
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  const char* day = kDays[(h / 7) % 7];
  std::snprintf(maintenance, sizeof maintenance, "%s:%02d:%02d-%s:%02d:%02d", day, hour + 1, 0, day, hour + 1, 30);
  return {backup, maintenance};
}

// Tags of a Tags parameter (Tags.Tag.N.Key / .Value).
std::vector<TagInput> TagParams(const RdsParams& call) {
  std::vector<TagInput> tags;
  for (auto& fields : service::QueryStructList(call.params, "Tags", "Tag")) {
    tags.push_back({fields["Key"], fields["Value"]});
  }
  return tags;
}

Json TagList(const std::vector<TagInput>& tags) {
  Json list = Json::array();
  for (const TagInput& t : tags) list.push_back({{"Key", t.key}, {"Value", t.value}});
  return list;
}

// A port for a new instance: `requested` if free, else the first one past
// kFirstPort that no instance holds and nothing listens on.
Result<int> ChoosePort(const RdsParams& call, std::optional<int64_t> requested) {
  ANNEX_ASSIGN_OR_RETURN(auto all, call.rds.store->Scan(kInstance, ""));
  std::set<int64_t> taken;
  for (const auto& [key, doc] : all) {
    auto endpoint = doc.find("Endpoint");
    if (endpoint != doc.end() && endpoint->is_object()) taken.insert(endpoint->value("Port", 0));
  }
  if (requested) {
    if (taken.contains(*requested) || !PortFree(static_cast<int>(*requested))) {
      return InvalidParameterValue("Port " + std::to_string(*requested) + " is in use on this appliance.");
    }
    return static_cast<int>(*requested);
  }
  for (int port = kFirstPort; port < 65535; ++port) {
    if (!taken.contains(port) && PortFree(port)) return port;
  }
  return http::ApiStatus("InsufficientDBInstanceCapacity", "No port is free for a new DB instance.");
}

// StorageQuotaExceeded when the instances' volumes, all full, would not fit
// on the appliance's data partition (volumes are sparse, so it is a promise
// the appliance must be able to keep).
Status CheckStorageQuota(const RdsParams& call, int64_t more_gib) {
  struct statvfs st {};
  if (::statvfs(call.rds.instances_dir.c_str(), &st) != 0) return Status::OK();
  int64_t partition_gib = static_cast<int64_t>(static_cast<uint64_t>(st.f_blocks) * st.f_frsize >> 30);
  ANNEX_ASSIGN_OR_RETURN(auto all, call.rds.store->Scan(kInstance, ""));
  int64_t promised = more_gib;
  for (const auto& [key, doc] : all) promised += doc.value("AllocatedStorage", 0);
  if (promised > partition_gib) {
    return http::ApiStatus("StorageQuotaExceeded",
                           "The request would exceed the storage quota of this appliance: " + std::to_string(promised) +
                               " GiB allocated to DB instances on a " + std::to_string(partition_gib) + " GiB partition.");
  }
  return Status::OK();
}

}  // namespace

Result<Json> NewInstance(const RdsParams& call) {
  ANNEX_ASSIGN_OR_RETURN(std::string raw_id, call.Required("DBInstanceIdentifier"));
  ANNEX_RETURN_IF_ERROR(ValidateDBInstanceIdentifier(raw_id));
  std::string id = NormalizeIdentifier(raw_id);
  ANNEX_ASSIGN_OR_RETURN(std::string instance_class, call.Required("DBInstanceClass"));
  ANNEX_RETURN_IF_ERROR(ValidateDBInstanceClass(instance_class));
  ANNEX_ASSIGN_OR_RETURN(std::string engine, call.Required("Engine"));
  ANNEX_RETURN_IF_ERROR(ValidateEngine(engine));
  const std::string* requested_version = call.Get("EngineVersion");
  ANNEX_ASSIGN_OR_RETURN(std::string version,
                         ResolveEngineVersion(requested_version ? *requested_version : "", call.rds.engine_version));
  const std::string* master = call.Get("MasterUsername");
  if (!master || master->empty()) {
    return InvalidParameterValue("The parameter MasterUsername must be provided and must not be blank.");
  }
  ANNEX_RETURN_IF_ERROR(ValidateMasterUsername(*master));
  ANNEX_ASSIGN_OR_RETURN(std::optional<bool> managed, call.Bool("ManageMasterUserPassword"));
  if (managed.value_or(false)) {
    return InvalidParameterCombination("ManageMasterUserPassword is not available on this appliance (it has no "
                                       "Secrets Manager); pass MasterUserPassword.");
  }
  const std::string* password = call.Get("MasterUserPassword");
  if (!password || password->empty()) {
    return InvalidParameterValue("The parameter MasterUserPassword must be provided and must not be blank.");
  }
  ANNEX_RETURN_IF_ERROR(ValidateMasterPassword(*password));
  const std::string* db_name = call.Get("DBName");
  if (db_name) ANNEX_RETURN_IF_ERROR(ValidateDBName(*db_name));
  const std::string* storage_type_param = call.Get("StorageType");
  std::string storage_type = storage_type_param ? *storage_type_param : "gp2";
  ANNEX_RETURN_IF_ERROR(ValidateStorageType(storage_type));
  ANNEX_ASSIGN_OR_RETURN(std::optional<int64_t> storage, call.Int("AllocatedStorage"));
  ANNEX_RETURN_IF_ERROR(ValidateAllocatedStorage(storage.value_or(0), storage_type));
  ANNEX_ASSIGN_OR_RETURN(std::optional<int64_t> port, call.Int("Port"));
  if (port) ANNEX_RETURN_IF_ERROR(ValidatePort(*port));
  ANNEX_ASSIGN_OR_RETURN(std::optional<int64_t> retention, call.Int("BackupRetentionPeriod"));
  ANNEX_RETURN_IF_ERROR(ValidateBackupRetentionPeriod(retention.value_or(1)));
  auto [backup_window, maintenance_window] = DefaultWindows(id);
  if (const std::string* w = call.Get("PreferredBackupWindow")) {
    ANNEX_RETURN_IF_ERROR(ValidateBackupWindow(*w));
    backup_window = *w;
  }
  if (const std::string* w = call.Get("PreferredMaintenanceWindow")) {
    ANNEX_RETURN_IF_ERROR(ValidateMaintenanceWindow(*w));
    maintenance_window = NormalizeMaintenanceWindow(*w);
  }
  ANNEX_RETURN_IF_ERROR(ValidateWindowsDoNotOverlap(backup_window, maintenance_window));
  std::vector<TagInput> tags = TagParams(call);
  ANNEX_RETURN_IF_ERROR(ValidateTags(tags));
  ANNEX_ASSIGN_OR_RETURN(std::optional<bool> multi_az, call.Bool("MultiAZ"));
  if (multi_az.value_or(false)) {
    return InvalidParameterCombination("MultiAZ is not available: this appliance is one availability zone.");
  }
  std::string zone = call.rds.region + "a";
  if (const std::string* az = call.Get("AvailabilityZone"); az && *az != zone) {
    return InvalidParameterValue("Availability zone '" + *az + "' is unavailable in this region, please choose "
                                 "another zone set.");
  }
  ANNEX_ASSIGN_OR_RETURN(std::optional<bool> deletion_protection, call.Bool("DeletionProtection"));
  ANNEX_ASSIGN_OR_RETURN(std::optional<bool> copy_tags, call.Bool("CopyTagsToSnapshot"));
  ANNEX_ASSIGN_OR_RETURN(std::optional<bool> public_access, call.Bool("PubliclyAccessible"));

  Json doc = {
      {"DBInstanceIdentifier", id},
      {"DBInstanceClass", instance_class},
      {"Engine", "postgres"},
      {"EngineVersion", version},
      {"DBInstanceStatus", "creating"},
      {"MasterUsername", *master},
      {"AllocatedStorage", *storage},
      {"StorageType", storage_type},
      {"InstanceCreateTime", FormatIso8601Ms(call.now_ms)},
      {"PreferredBackupWindow", backup_window},
      {"BackupRetentionPeriod", retention.value_or(1)},
      {"PreferredMaintenanceWindow", maintenance_window},
      {"DBSecurityGroups", Json::array()},
      {"VpcSecurityGroups", Json::array()},
      {"DBParameterGroups",
       Json::array({{{"DBParameterGroupName", "default.postgres" + version.substr(0, version.find('.'))},
                     {"ParameterApplyStatus", "in-sync"}}})},
      {"AvailabilityZone", zone},
      {"MultiAZ", false},
      {"AutoMinorVersionUpgrade", true},
      {"ReadReplicaDBInstanceIdentifiers", Json::array()},
      {"LicenseModel", "postgresql-license"},
      {"PubliclyAccessible", public_access.value_or(true)},
      {"StorageEncrypted", false},
      {"DbiResourceId", "db-" + os::RandomString(26, kAlphabet)},
      {"CopyTagsToSnapshot", copy_tags.value_or(false)},
      {"DBInstanceArn", InstanceArn(call.rds, call.account, id)},
      {"IAMDatabaseAuthenticationEnabled", false},
      {"PerformanceInsightsEnabled", false},
      {"DeletionProtection", deletion_protection.value_or(false)},
      {"TagList", TagList(tags)},
      {"BackupTarget", "region"},
      {"NetworkType", "IPV4"},
  };
  if (db_name) doc["DBName"] = *db_name;
  doc[kPrivate] = {{"account", call.account},
                   {"intent", {{"desired", "available"}, {"rebootSeq", 0}, {"modificationSeq", 0},
                               {"modifications", Json::array()}}},
                   {"state", Json::object()}};
  doc[kPrivate]["requestedPort"] = port ? Json(*port) : Json();
  return doc;
}

Result<Json> StoreNewInstance(const RdsParams& call, Json doc) {
  const std::string* password = call.Get("MasterUserPassword");
  if (!password) return InvalidParameterValue("The parameter MasterUserPassword must be provided and must not be blank.");
  std::lock_guard lock(call.rds.create_mu);
  std::string key = InstanceKey(call.account, doc["DBInstanceIdentifier"]);
  ANNEX_ASSIGN_OR_RETURN(auto existing, call.rds.store->Get(kInstance, key));
  if (existing) return http::ApiStatus("DBInstanceAlreadyExists", "DB instance already exists");
  ANNEX_RETURN_IF_ERROR(CheckStorageQuota(call, doc["AllocatedStorage"].get<int64_t>()));
  std::optional<int64_t> requested;
  if (doc[kPrivate]["requestedPort"].is_number_integer()) requested = doc[kPrivate]["requestedPort"].get<int64_t>();
  doc[kPrivate].erase("requestedPort");
  ANNEX_ASSIGN_OR_RETURN(int port, ChoosePort(call, requested));
  doc["Endpoint"] = {{"Address", call.rds.endpoint_host}, {"Port", port}, {"HostedZoneId", "Z2R2ITUGPM61AM"}};
  // The password waits in a file of the instance's (0600) for initdb, never in the store.
  os::FileSystem& fs = os::PosixFileSystem();
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(InstanceDir(call.rds, doc)));
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, PasswordFile(call.rds, doc, 0), *password, 0600));
  ANNEX_RETURN_IF_ERROR(call.rds.store->Put(kInstance, key, doc));
  if (call.rds.reconciler) call.rds.reconciler->Wake();
  return doc;
}

namespace {

// The state the instance is in as the caller sees it: what it has asked for
// shows at once, before the reconciler's next pass acts on it.
std::string ShownStatus(const Json& doc) {
  std::string status = StoredStatus(doc);
  const Json& p = doc.contains(kPrivate) ? doc[kPrivate] : Json();
  Json intent = p.value("intent", Json::object());
  Json state = p.value("state", Json::object());
  if (intent.value("desired", "") == "deleted") return "deleting";
  if (status != "available") return status;
  if (intent.value("desired", "") == "stopped") return "stopping";
  if (intent.value("rebootSeq", 0) > state.value("rebootSeqDone", 0)) return "rebooting";
  for (const Json& m : intent.value("modifications", Json::array())) {
    if (m.value("seq", 0) > state.value("appliedSeq", 0) && m.value("applyImmediately", false)) return "modifying";
  }
  return status;
}

Status RequireStatus(const Json& doc, std::initializer_list<std::string_view> allowed) {
  std::string shown = ShownStatus(doc);
  for (std::string_view s : allowed) {
    if (shown == s) return Status::OK();
  }
  return InvalidDBInstanceState("Instance " + doc.value("DBInstanceIdentifier", "") + " is not in available state.");
}

// Changes the stored instance through `change`, refusing (as `check` says)
// on the current document; answers with the result.
Task<Status> ChangeInstance(RdsCall& call, service::QueryResponder& out,
                            const std::function<Status(Json&)>& change) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string raw_id, call.Required("DBInstanceIdentifier"));
  std::string key = InstanceKey(call.account, NormalizeIdentifier(raw_id));
  auto written = co_await call.Blocking([&]() -> Result<std::optional<Json>> {
    return call.rds.store->Update(kInstance, key, [&](std::optional<Json>& doc) -> annex::Status {
      if (!doc) return DBInstanceNotFound(raw_id);
      return change(*doc);
    });
  });
  if (!written.ok()) co_return written.status();
  if (call.rds.reconciler) call.rds.reconciler->Wake();
  AppendDBInstance(out.Result(), Shown(**written));
  co_return annex::Status::OK();
}

}  // namespace

Status DBInstanceNotFound(std::string_view identifier) {
  return http::ApiStatus("DBInstanceNotFound", "DBInstance " + std::string(identifier) + " not found.");
}

Status InvalidDBInstanceState(std::string_view message) {
  return http::ApiStatus("InvalidDBInstanceState", std::string(message));
}

Json Shown(const Json& doc) {
  Json shown = doc;
  shown.erase(kPrivate);
  shown["DBInstanceStatus"] = ShownStatus(doc);
  if (StoredStatus(doc) == "creating") shown.erase("Endpoint");  // RDS has none to show until the instance exists
  Json pending = Json::object();
  const Json& p = doc.contains(kPrivate) ? doc[kPrivate] : Json();
  int64_t applied = p.value("state", Json::object()).value("appliedSeq", 0);
  for (const Json& m : p.value("intent", Json::object()).value("modifications", Json::array())) {
    if (m.value("seq", 0) <= applied) continue;
    if (m.contains("DBInstanceClass")) pending["DBInstanceClass"] = m["DBInstanceClass"];
    if (m.contains("AllocatedStorage")) pending["AllocatedStorage"] = m["AllocatedStorage"];
    if (m.value("password", false)) pending["MasterUserPassword"] = "****";
  }
  shown["PendingModifiedValues"] = pending;
  return shown;
}

Result<std::string> RdsParams::Required(std::string_view name) const {
  const std::string* v = params.Get(name);
  if (!v || v->empty()) {
    return http::ApiStatus("MissingParameter",
                           "The request must contain the parameter " + std::string(name));
  }
  return *v;
}

Result<std::optional<int64_t>> RdsParams::Int(std::string_view name) const {
  const std::string* v = params.Get(name);
  if (!v) return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size()) return InvalidParameterValue("Invalid value for parameter " + std::string(name) + ": " + *v);
  return std::optional<int64_t>(n);
}

Result<std::optional<bool>> RdsParams::Bool(std::string_view name) const {
  const std::string* v = params.Get(name);
  if (!v) return std::optional<bool>();
  if (*v == "true") return std::optional<bool>(true);
  if (*v == "false") return std::optional<bool>(false);
  return InvalidParameterValue("Invalid value for parameter " + std::string(name) + ": " + *v);
}

Task<Result<Json>> FindInstance(RdsCall& call, std::string_view identifier) {
  std::string key = InstanceKey(call.account, NormalizeIdentifier(identifier));
  auto doc = co_await call.Blocking([&] { return call.rds.store->Get(kInstance, key); });
  if (!doc.ok()) co_return doc.status();
  if (!*doc) co_return DBInstanceNotFound(identifier);
  co_return std::move(**doc);
}

Task<Status> CreateDBInstance(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(Json doc, NewInstance(call));
  if (!call.rds.reconciler) {
    co_return http::ApiStatus("InsufficientDBInstanceCapacity", call.rds.unavailable);
  }
  auto created = co_await call.Blocking([&] { return StoreNewInstance(call, std::move(doc)); });
  if (!created.ok()) co_return created.status();
  AppendDBInstance(out.Result(), Shown(*created));
  co_return annex::Status::OK();
}

Task<Status> DescribeDBInstances(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<int64_t> max_records, call.Int("MaxRecords"));
  if (max_records && (*max_records < 20 || *max_records > 100)) {
    co_return InvalidParameterValue("Invalid value for MaxRecords. Must be between 20 and 100");
  }
  // Filters: db-instance-id (identifiers or ARNs), dbi-resource-id, engine.
  std::map<std::string, std::set<std::string>> filters;
  for (auto& f : service::QueryStructList(call.params, "Filters", "Filter")) {
    std::string name = f["Name"];
    std::vector<std::string> values;
    for (const auto& [k, v] : f) {
      if (k.starts_with("Values.Value.")) values.push_back(v);
    }
    if (name != "db-instance-id" && name != "dbi-resource-id" && name != "engine" && name != "db-cluster-id" &&
        name != "domain") {
      co_return InvalidParameterValue("Unrecognized filter name: " + name);
    }
    for (std::string& v : values) {
      if (name == "db-instance-id" && v.starts_with("arn:")) v = v.substr(v.rfind(':') + 1);
      filters[name].insert(name == "db-instance-id" ? NormalizeIdentifier(v) : v);
    }
  }
  std::string prefix = call.account + "/";
  const std::string* id = call.Get("DBInstanceIdentifier");
  if (id) {
    ANNEX_CO_ASSIGN_OR_RETURN(Json doc, co_await FindInstance(call, *id));
    Json list = Json::array({Shown(doc)});
    AppendShape(out.Result(), "DBInstances", list, "DBInstanceList");
    co_return annex::Status::OK();
  }
  const std::string* marker = call.Get("Marker");
  size_t limit = static_cast<size_t>(max_records.value_or(100));
  auto page = co_await call.Blocking([&] {
    return call.rds.store->Scan(kInstance, prefix, marker ? prefix + *marker : std::string(), SIZE_MAX);
  });
  if (!page.ok()) co_return page.status();
  Json list = Json::array();
  std::string next;
  for (const auto& [key, doc] : *page) {
    auto match = [&](const char* filter, const std::string& value) {
      auto it = filters.find(filter);
      return it == filters.end() || it->second.contains(value);
    };
    if (!match("db-instance-id", doc.value("DBInstanceIdentifier", "")) ||
        !match("dbi-resource-id", doc.value("DbiResourceId", "")) || !match("engine", doc.value("Engine", "")) ||
        filters.contains("db-cluster-id") || filters.contains("domain")) {
      continue;
    }
    if (list.size() == limit) {
      next = list.back().value("DBInstanceIdentifier", "");
      break;
    }
    list.push_back(Shown(doc));
  }
  http::XmlNode result = out.Result();
  AppendShape(result, "DBInstances", list, "DBInstanceList");
  if (!next.empty()) result.Add("Marker", next);
  co_return annex::Status::OK();
}

Task<Status> ModifyDBInstance(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<bool> apply_now, call.Bool("ApplyImmediately"));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<int64_t> storage, call.Int("AllocatedStorage"));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<int64_t> retention, call.Int("BackupRetentionPeriod"));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<bool> deletion_protection, call.Bool("DeletionProtection"));
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<bool> copy_tags, call.Bool("CopyTagsToSnapshot"));
  const std::string* instance_class = call.Get("DBInstanceClass");
  const std::string* password = call.Get("MasterUserPassword");
  const std::string* backup_window = call.Get("PreferredBackupWindow");
  const std::string* maintenance_window = call.Get("PreferredMaintenanceWindow");
  if (instance_class) ANNEX_CO_RETURN_IF_ERROR(ValidateDBInstanceClass(*instance_class));
  if (password) ANNEX_CO_RETURN_IF_ERROR(ValidateMasterPassword(*password));
  if (retention) ANNEX_CO_RETURN_IF_ERROR(ValidateBackupRetentionPeriod(*retention));
  if (backup_window) ANNEX_CO_RETURN_IF_ERROR(ValidateBackupWindow(*backup_window));
  if (maintenance_window) ANNEX_CO_RETURN_IF_ERROR(ValidateMaintenanceWindow(*maintenance_window));
  for (const char* unsupported : {"NewDBInstanceIdentifier", "DBPortNumber", "EngineVersion", "StorageType", "Iops"}) {
    if (call.Get(unsupported)) {
      co_return InvalidParameterCombination(std::string(unsupported) + " cannot be modified on this appliance yet.");
    }
  }
  if (call.Get("MultiAZ") && *call.Get("MultiAZ") == "true") {
    co_return InvalidParameterCombination("MultiAZ is not available: this appliance is one availability zone.");
  }
  std::string password_file;  // written for the reconciler; removed again if the change is refused
  Status changed = co_await ChangeInstance(call, out, [&](Json& doc) -> Status {
    ANNEX_RETURN_IF_ERROR(RequireStatus(doc, {"available"}));
    if (storage) {
      ANNEX_RETURN_IF_ERROR(ValidateAllocatedStorage(*storage, doc.value("StorageType", "gp2")));
      if (*storage < doc.value("AllocatedStorage", 0)) {
        return InvalidParameterCombination("Invalid storage size for engine name postgres and storage type " +
                                           doc.value("StorageType", "gp2") + ": " + std::to_string(*storage));
      }
    }
    std::string backup = backup_window ? *backup_window : doc.value("PreferredBackupWindow", "");
    std::string maintenance = maintenance_window ? NormalizeMaintenanceWindow(*maintenance_window)
                                                 : doc.value("PreferredMaintenanceWindow", "");
    ANNEX_RETURN_IF_ERROR(ValidateWindowsDoNotOverlap(backup, maintenance));
    // Applied now, as RDS applies them: windows, retention, protection.
    doc["PreferredBackupWindow"] = backup;
    doc["PreferredMaintenanceWindow"] = maintenance;
    if (retention) doc["BackupRetentionPeriod"] = *retention;
    if (deletion_protection) doc["DeletionProtection"] = *deletion_protection;
    if (copy_tags) doc["CopyTagsToSnapshot"] = *copy_tags;
    // The rest is the reconciler's to apply: now, or in the maintenance window.
    bool class_changes = instance_class && *instance_class != doc.value("DBInstanceClass", "");
    bool storage_changes = storage && *storage != doc.value("AllocatedStorage", 0);
    if (!class_changes && !storage_changes && !password) return Status::OK();
    Json& intent = Intent(doc);
    int64_t seq = intent.value("modificationSeq", 0) + 1;
    Json m = {{"seq", seq}, {"applyImmediately", apply_now.value_or(false) || (password && !class_changes && !storage_changes)}};
    if (class_changes) m["DBInstanceClass"] = *instance_class;
    if (storage_changes) m["AllocatedStorage"] = *storage;
    if (password) {
      // A password always applies at once (RDS does not wait for the window with it).
      m["password"] = true;
      m["applyImmediately"] = true;
      std::string file = PasswordFile(call.rds, doc, static_cast<uint64_t>(seq));
      os::FileSystem& fs = os::PosixFileSystem();
      ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs, file, *password, 0600));
      password_file = file;
    }
    intent["modificationSeq"] = seq;
    intent["modifications"].push_back(m);
    return Status::OK();
  });
  if (!changed.ok() && !password_file.empty()) ::unlink(password_file.c_str());
  co_return changed;
}

Task<Status> DeleteDBInstance(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<bool> skip_final, call.Bool("SkipFinalSnapshot"));
  const std::string* final_snapshot = call.Get("FinalDBSnapshotIdentifier");
  if (skip_final.value_or(false) && final_snapshot) {
    co_return InvalidParameterCombination("Cannot specify FinalDBSnapshotIdentifier when SkipFinalSnapshot is true.");
  }
  if (!skip_final.value_or(false) && !final_snapshot) {
    co_return InvalidParameterCombination(
        "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
  }
  std::string final_id;
  if (final_snapshot) {
    ANNEX_CO_RETURN_IF_ERROR(ValidateDBSnapshotIdentifier(*final_snapshot, "FinalDBSnapshotIdentifier"));
    final_id = NormalizeIdentifier(*final_snapshot);
    ANNEX_CO_ASSIGN_OR_RETURN(std::string raw_id, call.Required("DBInstanceIdentifier"));
    auto made = co_await call.Blocking([&] {
      return StoreNewSnapshot(call, NormalizeIdentifier(raw_id), final_id, Json::array(), /*for_delete=*/false);
    });
    if (!made.ok()) co_return made.status();
  }
  co_return co_await ChangeInstance(call, out, [&](Json& doc) -> Status {
    if (!final_id.empty()) Intent(doc)["finalSnapshot"] = final_id;
    if (ShownStatus(doc) == "deleting") {
      return InvalidDBInstanceState("Instance " + doc.value("DBInstanceIdentifier", "") + " is already being deleted.");
    }
    if (doc.value("DeletionProtection", false)) {
      return InvalidParameterCombination(
          "Cannot delete protected DB Instance, please disable deletion protection and try again.");
    }
    Intent(doc)["desired"] = "deleted";
    return Status::OK();
  });
}

Task<Status> RebootDBInstance(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<bool> force_failover, call.Bool("ForceFailover"));
  if (force_failover.value_or(false)) {
    co_return InvalidParameterCombination("ForceFailover needs a Multi-AZ instance.");
  }
  co_return co_await ChangeInstance(call, out, [&](Json& doc) -> Status {
    ANNEX_RETURN_IF_ERROR(RequireStatus(doc, {"available"}));
    Intent(doc)["rebootSeq"] = Intent(doc).value("rebootSeq", 0) + 1;
    return Status::OK();
  });
}

Task<Status> StopDBInstance(RdsCall& call, service::QueryResponder& out) {
  if (call.Get("DBSnapshotIdentifier")) {
    co_return InvalidParameterCombination("A snapshot on stop is not available on this appliance yet.");
  }
  co_return co_await ChangeInstance(call, out, [&](Json& doc) -> Status {
    ANNEX_RETURN_IF_ERROR(RequireStatus(doc, {"available"}));
    Intent(doc)["desired"] = "stopped";
    return Status::OK();
  });
}

Task<Status> StartDBInstance(RdsCall& call, service::QueryResponder& out) {
  co_return co_await ChangeInstance(call, out, [&](Json& doc) -> Status {
    if (ShownStatus(doc) != "stopped") {
      return InvalidDBInstanceState("Instance " + doc.value("DBInstanceIdentifier", "") +
                                    " is not stopped, it is currently in state " + ShownStatus(doc) + ".");
    }
    Intent(doc)["desired"] = "available";
    return Status::OK();
  });
}

}  // namespace annex::database
