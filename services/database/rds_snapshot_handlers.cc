// The snapshot and restore operations: CreateDBSnapshot,
// DescribeDBSnapshots, DeleteDBSnapshot, RestoreDBInstanceFromDBSnapshot,
// RestoreDBInstanceToPointInTime. Snapshots are kept as
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

// A restored instance is made as CreateDBInstance makes one, with the
// source's engine, class, storage and master user where the request names
// none; its cluster (and the master password in it) comes from the backup.
struct RestoreBasis {
  std::string instance_class;
  int64_t allocated_storage = 20;
  std::string storage_type;
  std::string master_username;
  std::string db_name;
};

Task<Status> CreateRestoredInstance(RdsCall& call, http::QueryParams params, const RestoreBasis& basis, Json restore,
                                    service::QueryResponder& out) {
  auto fill = [&](const char* name, const std::string& value) {
    if (!params.Get(name) && !value.empty()) params.Add(name, value);
  };
  fill("Engine", "postgres");
  fill("DBInstanceClass", basis.instance_class);
  fill("AllocatedStorage", std::to_string(basis.allocated_storage));
  fill("StorageType", basis.storage_type);
  fill("MasterUsername", basis.master_username);
  // The restored cluster keeps the source's password; initdb does not run, so this one is never used.
  fill("MasterUserPassword", "unused-" + os::RandomHex(8));
  RdsParams create{params, call.rds, call.account, call.now_ms};
  ANNEX_CO_ASSIGN_OR_RETURN(Json doc, NewInstance(create));
  if (!call.rds.reconciler) co_return http::ApiStatus("InsufficientDBInstanceCapacity", call.rds.unavailable);
  if (!basis.db_name.empty()) doc["DBName"] = basis.db_name;
  doc[kPrivate]["restore"] = std::move(restore);
  doc[kPrivate]["state"]["databaseCreated"] = true;  // it comes with the backup
  auto created = co_await call.Blocking([&] { return StoreNewInstance(create, std::move(doc)); });
  if (!created.ok()) co_return created.status();
  AppendDBInstance(out.Result(), Shown(*created));
  co_return Status::OK();
}

}  // namespace

Result<Json> StoreNewSnapshot(const RdsParams& call, const std::string& instance_id, const std::string& snapshot_id,
                              const Json& tags, bool for_delete) {
  std::string snapshot_key = SnapshotKey(call.account, snapshot_id);
  std::string instance_key = InstanceKey(call.account, instance_id);
  ANNEX_ASSIGN_OR_RETURN(auto existing, call.rds.store->Get(kSnapshot, snapshot_key));
  if (existing) return http::ApiStatus("DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier " + snapshot_id + " already exists.");
  auto check = [&](const std::optional<Json>& doc) -> Status {
    if (!doc) return DBInstanceNotFound(instance_id);
    std::string status = Shown(*doc).value("DBInstanceStatus", "");
    if (status != "available" && !(for_delete && status == "deleting")) {
      return InvalidDBInstanceState("Instance " + instance_id + " is not in available state.");
    }
    if (doc->value("BackupRetentionPeriod", 0) == 0) {
      return InvalidParameterCombination("Snapshots need automated backups on this appliance: set "
                                         "BackupRetentionPeriod above 0 first.");
    }
    return Status::OK();
  };
  ANNEX_ASSIGN_OR_RETURN(auto instance, call.rds.store->Get(kInstance, instance_key));
  ANNEX_RETURN_IF_ERROR(check(instance));
  // The snapshot is stored before the instance is told to take it: a
  // reconciler pass between the two writes would otherwise find no snapshot
  // to take, count the request as done, and leave the snapshot "creating".
  Json snapshot = SnapshotDocument(call.rds, call.account, *instance, snapshot_id, tags, call.now_ms);
  ANNEX_RETURN_IF_ERROR(call.rds.store->Put(kSnapshot, snapshot_key, snapshot));
  auto told = call.rds.store->Update(kInstance, instance_key, [&](std::optional<Json>& doc) -> Status {
    ANNEX_RETURN_IF_ERROR(check(doc));  // it may have changed since it was read
    Json& intent = (*doc)[kPrivate]["intent"];
    intent["snapshotSeq"] = intent.value("snapshotSeq", 0) + 1;
    return Status::OK();
  });
  if (!told.ok()) {
    call.rds.store->Delete(kSnapshot, snapshot_key).IgnoreError();
    return told.status();
  }
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
      if (doc->value("SnapshotType", "") == "automated") {
        return http::ApiStatus("InvalidDBSnapshotState",
                               "Automated snapshots are deleted with their retention period, not by DeleteDBSnapshot.");
      }
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
  RestoreBasis basis{snapshot[kPrivate].value("instanceClass", "db.t3.micro"), snapshot.value("AllocatedStorage", 20),
                     snapshot.value("StorageType", "gp2"), snapshot.value("MasterUsername", ""),
                     snapshot[kPrivate].value("dbName", "")};
  Json restore = {{"sourceResourceId", snapshot.value("DbiResourceId", "")},
                  {"label", snapshot[kPrivate].value("label", "")},
                  {"repo", snapshot[kPrivate].value("repo", "snapshots")},
                  {"snapshot", snapshot.value("DBSnapshotIdentifier", "")}};
  co_return co_await CreateRestoredInstance(call, call.params, basis, std::move(restore), out);
}

Task<Status> RestoreDBInstanceToPointInTime(RdsCall& call, service::QueryResponder& out) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string target_id, call.Required("TargetDBInstanceIdentifier"));
  ANNEX_CO_RETURN_IF_ERROR(ValidateDBInstanceIdentifier(target_id));
  const std::string* source_id = call.Get("SourceDBInstanceIdentifier");
  const std::string* source_rid = call.Get("SourceDbiResourceId");
  if (!source_id && !source_rid) {
    co_return InvalidParameterCombination("One of SourceDBInstanceIdentifier or SourceDbiResourceId must be specified.");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<bool> latest, call.Bool("UseLatestRestorableTime"));
  const std::string* time_text = call.Get("RestoreTime");
  if (time_text && latest.value_or(false)) {
    co_return InvalidParameterCombination("Cannot specify both RestoreTime and UseLatestRestorableTime.");
  }
  if (!time_text && !latest.value_or(false)) {
    co_return InvalidParameterCombination("Specify either RestoreTime or UseLatestRestorableTime.");
  }
  // The source: by identifier, or by resource id among the account's instances.
  auto all = co_await call.Blocking([&] { return call.rds.store->Scan(kInstance, call.account + "/"); });
  if (!all.ok()) co_return all.status();
  const Json* source = nullptr;
  for (const auto& [key, doc] : *all) {
    if (source_id ? doc.value("DBInstanceIdentifier", "") == NormalizeIdentifier(*source_id)
                  : doc.value("DbiResourceId", "") == *source_rid) {
      source = &doc;
    }
  }
  if (!source || source->value("DBInstanceStatus", "") == "deleting") {
    co_return DBInstanceNotFound(source_id ? *source_id : *source_rid);
  }
  if (source->value("BackupRetentionPeriod", 0) == 0) {
    co_return http::ApiStatus("PointInTimeRestoreNotEnabled",
                              "Point-in-time restore needs automated backups on the source DB instance "
                              "(BackupRetentionPeriod above 0).");
  }
  std::optional<SystemTime> latest_time = ParseIso8601(source->value("LatestRestorableTime", ""));
  if (!latest_time) {
    co_return InvalidDBInstanceState("The source DB instance has no restorable time yet: its first backup and "
                                     "WAL archive are not complete.");
  }
  auto to_ms = [](SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  int64_t time_ms = to_ms(*latest_time);
  if (time_text) {
    std::optional<SystemTime> asked = ParseIso8601(*time_text);
    if (!asked) co_return InvalidParameterValue("Invalid RestoreTime: " + *time_text);
    time_ms = to_ms(*asked);
    // The earliest restorable time: the end of the oldest automated backup still kept.
    int64_t earliest = 0;
    auto snapshots = co_await call.Blocking([&] { return call.rds.store->Scan(kSnapshot, call.account + "/"); });
    if (!snapshots.ok()) co_return snapshots.status();
    for (const auto& [key, snapshot] : *snapshots) {
      if (snapshot.value("SnapshotType", "") != "automated" ||
          snapshot.value("DbiResourceId", "") != source->value("DbiResourceId", "")) {
        continue;
      }
      std::optional<SystemTime> end = ParseIso8601(snapshot.value("SnapshotDatabaseTime", ""));
      if (end && (earliest == 0 || to_ms(*end) < earliest)) earliest = to_ms(*end);
    }
    if (time_ms > to_ms(*latest_time) || earliest == 0 || time_ms < earliest) {
      co_return http::ApiStatus(
          "InvalidRestoreFault",
          "The restore time " + *time_text + " is outside the restorable window of DB instance " +
              source->value("DBInstanceIdentifier", "") + ": " +
              (earliest ? FormatIso8601Ms(earliest) : std::string("none")) + " to " +
              source->value("LatestRestorableTime", "") + ".");
    }
  }
  http::QueryParams params = call.params;
  params.Remove("DBInstanceIdentifier");
  params.Add("DBInstanceIdentifier", target_id);
  RestoreBasis basis{source->value("DBInstanceClass", "db.t3.micro"), source->value("AllocatedStorage", 20),
                     source->value("StorageType", "gp2"), source->value("MasterUsername", ""),
                     source->value("DBName", "")};
  Json restore = {{"sourceResourceId", source->value("DbiResourceId", "")},
                  {"timeMs", time_ms},
                  {"source", source->value("DBInstanceIdentifier", "")}};
  co_return co_await CreateRestoredInstance(call, params, basis, std::move(restore), out);
}

}  // namespace annex::database
