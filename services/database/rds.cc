#include "services/database/rds.h"

#include <algorithm>

#include "appliance/core/strings.h"
#include "appliance/os/random.h"

namespace annex::database {

Result<std::unique_ptr<service::DocumentStore>> OpenRdsStore(const std::string& dir) {
  return service::DocumentStore::Open(dir, {{"instances", "db-instance"}, {"snapshots", "db-snapshot"}});
}

std::string InstanceKey(const std::string& account, const std::string& identifier) {
  return service::DocumentKey({account, identifier});
}

std::string InstanceArn(const Rds& rds, const std::string& account, const std::string& identifier) {
  return "arn:aws:rds:" + rds.region + ":" + account + ":db:" + identifier;
}

std::string InstanceDir(const Rds& rds, const Json& doc) {
  auto id = doc.find("DbiResourceId");
  return rds.instances_dir + "/" + (id != doc.end() && id->is_string() ? id->get<std::string>() : "unknown");
}

std::string WalDir(const Rds& rds, const Json& doc) { return InstanceDir(rds, doc) + "/wal"; }

std::string SocketDir(const Rds& rds, const Json& doc) { return InstanceDir(rds, doc) + "/run"; }

int InstancePort(const Json& doc) {
  auto endpoint = doc.find("Endpoint");
  if (endpoint == doc.end() || !endpoint->is_object()) return 0;
  auto port = endpoint->find("Port");
  return port != endpoint->end() && port->is_number_integer() ? port->get<int>() : 0;
}

int RetentionDays(const Json& doc) {
  auto days = doc.find("BackupRetentionPeriod");
  return days != doc.end() && days->is_number_integer() ? std::max(1, days->get<int>()) : 1;
}

std::string PasswordFile(const Rds& rds, const Json& doc, uint64_t seq) {
  return InstanceDir(rds, doc) + "/password-" + std::to_string(seq);
}

int64_t NowMs(const os::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

Json SnapshotDocument(const Rds& rds, const std::string& account, const Json& instance, const std::string& id,
                      const Json& tags, int64_t now_ms) {
  Json snapshot = {
      {"DBSnapshotIdentifier", id},
      {"DBInstanceIdentifier", instance.value("DBInstanceIdentifier", "")},
      {"SnapshotCreateTime", FormatIso8601Ms(now_ms)},
      {"Engine", "postgres"},
      {"AllocatedStorage", instance.value("AllocatedStorage", 0)},
      {"Status", "creating"},
      {"Port", InstancePort(instance)},
      {"AvailabilityZone", instance.value("AvailabilityZone", "")},
      {"InstanceCreateTime", instance.value("InstanceCreateTime", "")},
      {"MasterUsername", instance.value("MasterUsername", "")},
      {"EngineVersion", instance.value("EngineVersion", "")},
      {"LicenseModel", "postgresql-license"},
      {"SnapshotType", "manual"},
      {"PercentProgress", 0},
      {"StorageType", instance.value("StorageType", "gp2")},
      {"Encrypted", false},
      {"DBSnapshotArn", "arn:aws:rds:" + rds.region + ":" + account + ":snapshot:" + id},
      {"IAMDatabaseAuthenticationEnabled", false},
      {"DbiResourceId", instance.value("DbiResourceId", "")},
      {"TagList", tags},
      {"SnapshotTarget", "region"},
  };
  snapshot[kPrivate] = {{"account", account}, {"id", ToLower(os::RandomHex(8))},
                        {"dbName", instance.value("DBName", "")},
                        {"instanceClass", instance.value("DBInstanceClass", "db.t3.micro")}};
  return snapshot;
}


Json AutomatedSnapshot(const Rds& rds, const Json& instance, const std::string& id, const BackupSet& set) {
  const Json& p = instance[kPrivate];
  Json snapshot = SnapshotDocument(rds, p.value("account", ""), instance, id, Json::array(), set.start_ms);
  snapshot["SnapshotType"] = "automated";
  snapshot["Status"] = "available";
  snapshot["PercentProgress"] = 100;
  snapshot["OriginalSnapshotCreateTime"] = snapshot["SnapshotCreateTime"];
  snapshot["SnapshotDatabaseTime"] = FormatIso8601Ms(set.stop_ms);
  snapshot[kPrivate]["label"] = set.label;
  snapshot[kPrivate]["repo"] = "automated";
  snapshot[kPrivate]["databaseBytes"] = set.database_bytes;
  snapshot[kPrivate]["repoBytes"] = set.repo_bytes;
  return snapshot;
}

}  // namespace annex::database
