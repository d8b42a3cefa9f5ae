// The snapshot operations: CreateDBSnapshot, DescribeDBSnapshots,
// DeleteDBSnapshot, RestoreDBInstanceFromDBSnapshot. Snapshots are kept as
// the RDS DBSnapshot shape under "<account>/<snapshot identifier>"; the
// reconciler takes and deletes their backups (instance_backups.h).

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/os/random.h"
#include "services/database/instance_reconciler.h"
#include "services/database/rds_call.h"
#include "services/database/rds_validation.h"
#include "services/database/rds_xml.h"

namespace annex::database {
namespace {

std::string SnapshotKey(const std::string& account, const std::string& id) { return service::DocumentKey({account, id}); }

Status DBSnapshotNotFound(std::string_view id) {
  return http::ApiStatus("DBSnapshotNotFound", "DBSnapshot " + std::string(id) + " not found.");
}

Json ShownSnapshot(const Json& doc) {
  Json shown = doc;
  shown.erase(kPrivate);
  return shown;
}

// A new snapshot of `instance` named `id`, "creating"; the instance is told
// to take it (intent.snapshotSeq), in the same way for CreateDBSnapshot and
// for DeleteDBInstance's final snapshot.
Json NewSnapshot(const RdsParams& call, const Json& instance, const std::string& id, const Json& tags) {
  Json snapshot = {
      {"DBSnapshotIdentifier", id},
      {"DBInstanceIdentifier", instance.value("DBInstanceIdentifier", "")},
      {"SnapshotCreateTime", FormatIso8601Ms(call.now_ms)},
      {"Engine", "postgres"},
      {"AllocatedStorage", instance.value("AllocatedStorage", 0)},
      {"Status", "creating"},
      {"Port", instance.contains("Endpoint") ? instance["Endpoint"].value("Port", 0) : 0},
      {"AvailabilityZone", instance.value("AvailabilityZone", "")},
      {"InstanceCreateTime", instance.value("InstanceCreateTime", "")},
      {"MasterUsername", instance.value("MasterUsername", "")},
      {"EngineVersion", instance.value("EngineVersion", "")},
      {"LicenseModel", "postgresql-license"},
      {"SnapshotType", "manual"},
      {"PercentProgress", 0},
      {"StorageType", instance.value("StorageType", "gp2")},
      {"Encrypted", false},
      {"DBSnapshotArn", "arn:aws:rds:" + call.rds.region + ":" + call.account + ":snapshot:" + id},
      {"IAMDatabaseAuthenticationEnabled", false},
      {"DbiResourceId", instance.value("DbiResourceId", "")},
      {"TagList", tags},
      {"SnapshotTarget", "region"},
  };
  snapshot[kPrivate] = {{"account", call.account}, {"id", ToLower(os::RandomHex(8))},
                        {"dbName", instance.value("DBName", "")},
                        {"instanceClass", instance.value("DBInstanceClass", "db.t3.micro")}};
  return snapshot;
}

}  // namespace

Result<Json> StoreNewSnapshot(const RdsParams& call, const std::string& instance_id, const std::string& snapshot_id,
                              const Json& tags, bool for_delete) {
  std::string snapshot_key = SnapshotKey(call.account, snapshot_id);
  ANNEX_ASSIGN_OR_RETURN(auto existing, call.rds.store->Get(kSnapshot, snapshot_key));
  if (existing) return http::ApiStatus("DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier " + snapshot_id + " already exists.");
  Json snapshot;
  ANNEX_ASSIGN_OR_RETURN(auto instance, call.rds.store->Update(kInstance, InstanceKey(call.account, instance_id),
                                                                [&](std::optional<Json>& doc) -> Status {
    if (!doc) return DBInstanceNotFound(instance_id);
    std::string status = Shown(*doc).value("DBInstanceStatus", "");
    if (status != "available" && !(for_delete && status == "deleting")) {
      return InvalidDBInstanceState("Instance " + instance_id + " is not in available state.");
    }
    if (doc->value("BackupRetentionPeriod", 0) == 0) {
      return InvalidParameterCombination("Snapshots need automated backups on this appliance: set "
                                         "BackupRetentionPeriod above 0 first.");
    }
    Json& intent = (*doc)[kPrivate]["intent"];
    intent["snapshotSeq"] = intent.value("snapshotSeq", 0) + 1;
    snapshot = NewSnapshot(call, *doc, snapshot_id, tags);
    return Status::OK();
  }));
  (void)instance;
  ANNEX_RETURN_IF_ERROR(call.rds.store->Put(kSnapshot, snapshot_key, snapshot));
  if (call.rds.reconciler) call.rds.reconciler->Wake();
  return snapshot;
}

Task<Status> CreateDBSnapshot(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string snapshot_id, call.Required("DBSnapshotIdentifier"));
  ANNEX_CO_RETURN_IF_ERROR(ValidateDBSnapshotIdentifier(snapshot_id));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string instance_id, call.Required("DBInstanceIdentifier"));
  ANNEX_CO_RETURN_IF_ERROR(ValidateDBInstanceIdentifier(instance_id));
  std::vector<TagInput> tags;
  for (auto& f : service::QueryStructList(call.params, "Tags", "Tag")) tags.push_back({f["Key"], f["Value"]});
  ANNEX_CO_RETURN_IF_ERROR(ValidateTags(tags));
  Json tag_list = Json::array();
  for (const TagInput& t : tags) tag_list.push_back({{"Key", t.key}, {"Value", t.value}});
  auto created = co_await call.Blocking([&] {
    return StoreNewSnapshot(call, NormalizeIdentifier(instance_id), NormalizeIdentifier(snapshot_id), tag_list,
                            /*for_delete=*/false);
  });
  if (!created.ok()) co_return created.status();
  AppendDBSnapshot(out.Result(), ShownSnapshot(*created));
  co_return Status::OK();
}

Task<Status> DescribeDBSnapshots(RdsCall& call, service::QueryResponder& out) {
  const std::string* instance = call.Get("DBInstanceIdentifier");
  const std::string* snapshot = call.Get("DBSnapshotIdentifier");
  const std::string* type = call.Get("SnapshotType");
  if (snapshot) {
    std::string key = SnapshotKey(call.account, NormalizeIdentifier(*snapshot));
    auto doc = co_await call.Blocking([&] { return call.rds.store->Get(kSnapshot, key); });
    if (!doc.ok()) co_return doc.status();
    if (!*doc) co_return DBSnapshotNotFound(*snapshot);
    AppendShape(out.Result(), "DBSnapshots", Json::array({ShownSnapshot(**doc)}), "DBSnapshotList");
    co_return Status::OK();
  }
  auto all = co_await call.Blocking([&] { return call.rds.store->Scan(kSnapshot, call.account + "/"); });
  if (!all.ok()) co_return all.status();
  Json list = Json::array();
  for (const auto& [key, doc] : *all) {
    if (instance && doc.value("DBInstanceIdentifier", "") != NormalizeIdentifier(*instance)) continue;
    if (type && doc.value("SnapshotType", "") != *type) continue;
    list.push_back(ShownSnapshot(doc));
  }
  AppendShape(out.Result(), "DBSnapshots", list, "DBSnapshotList");
  co_return Status::OK();
}

Task<Status> DeleteDBSnapshot(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string id, call.Required("DBSnapshotIdentifier"));
  std::string key = SnapshotKey(call.account, NormalizeIdentifier(id));
  auto written = co_await call.Blocking([&]() -> Result<std::optional<Json>> {
    return call.rds.store->Update(kSnapshot, key, [&](std::optional<Json>& doc) -> Status {
      if (!doc) return DBSnapshotNotFound(id);
      std::string status = doc->value("Status", "");
      if (status != "available" && status != "failed") {
        return http::ApiStatus("InvalidDBSnapshotState", "Cannot delete the snapshot because it is in the " + status +
                                                             " state.");
      }
      (*doc)["Status"] = "deleting";
      return Status::OK();
    });
  });
  if (!written.ok()) co_return written.status();
  if (call.rds.reconciler) call.rds.reconciler->Wake();
  Json shown = ShownSnapshot(**written);
  shown["Status"] = "deleted";  // as RDS answers DeleteDBSnapshot
  AppendDBSnapshot(out.Result(), shown);
  co_return Status::OK();
}

Task<Status> RestoreDBInstanceFromDBSnapshot(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string snapshot_id, call.Required("DBSnapshotIdentifier"));
  std::string key = SnapshotKey(call.account, NormalizeIdentifier(snapshot_id));
  auto stored = co_await call.Blocking([&] { return call.rds.store->Get(kSnapshot, key); });
  if (!stored.ok()) co_return stored.status();
  if (!*stored) co_return DBSnapshotNotFound(snapshot_id);
  const Json& snapshot = **stored;
  if (snapshot.value("Status", "") != "available") {
    co_return http::ApiStatus("InvalidDBSnapshotState", "Snapshot " + snapshot_id + " is not available.");
  }
  // The new instance is made as CreateDBInstance makes one, from the snapshot's engine, storage and master user.
  http::QueryParams params = call.params;
  auto fill = [&](const char* name, const std::string& value) {
    if (!params.Get(name) && !value.empty()) params.Add(name, value);
  };
  fill("Engine", "postgres");
  fill("DBInstanceClass", snapshot[kPrivate].value("instanceClass", "db.t3.micro"));
  fill("AllocatedStorage", std::to_string(snapshot.value("AllocatedStorage", 20)));
  fill("StorageType", snapshot.value("StorageType", "gp2"));
  fill("MasterUsername", snapshot.value("MasterUsername", ""));
  // The restored cluster keeps the source's password; initdb does not run, so this one is never used.
  fill("MasterUserPassword", "unused-" + os::RandomHex(8));
  RdsParams create{params, call.rds, call.account, call.now_ms};
  ANNEX_CO_ASSIGN_OR_RETURN(Json doc, NewInstance(create));
  if (!call.rds.reconciler) co_return http::ApiStatus("InsufficientDBInstanceCapacity", call.rds.unavailable);
  std::string db_name = snapshot[kPrivate].value("dbName", "");
  if (!db_name.empty()) doc["DBName"] = db_name;
  doc[kPrivate]["restore"] = {{"sourceResourceId", snapshot.value("DbiResourceId", "")},
                              {"label", snapshot[kPrivate].value("label", "")},
                              {"snapshot", snapshot.value("DBSnapshotIdentifier", "")}};
  doc[kPrivate]["state"]["databaseCreated"] = true;  // it comes with the snapshot
  auto created = co_await call.Blocking([&] { return StoreNewInstance(create, std::move(doc)); });
  if (!created.ok()) co_return created.status();
  AppendDBInstance(out.Result(), Shown(*created));
  co_return Status::OK();
}

}  // namespace annex::database
