#include "services/database/database_control.h"

#include "appliance/http/api_error.h"
#include "appliance/http/query.h"
#include "services/database/rds_call.h"

namespace annex::database {
namespace {

// What the control plane shows of an instance: what an operator looks for.
Json Summary(const std::string& key, const Json& doc) {
  Json out = {{"account", key.substr(0, key.find('/'))}};
  for (const char* m : {"DBInstanceIdentifier", "DBInstanceStatus", "DBInstanceClass", "Engine", "EngineVersion",
                        "AllocatedStorage", "Endpoint", "InstanceCreateTime", "DbiResourceId"}) {
    if (doc.contains(m)) out[m] = doc[m];
  }
  return out;
}

// The command's arguments and the CreateDBInstance parameters they become.
constexpr std::pair<const char*, const char*> kCreateArgs[] = {
    {"identifier", "DBInstanceIdentifier"},        {"instanceClass", "DBInstanceClass"},
    {"allocatedStorage", "AllocatedStorage"},      {"masterUsername", "MasterUsername"},
    {"masterUserPassword", "MasterUserPassword"},  {"dbName", "DBName"},
    {"backupRetentionPeriod", "BackupRetentionPeriod"},
};

class DatabaseControl final : public service::ServiceControl {
 public:
  DatabaseControl(Rds& rds, std::string root_account) : rds_(rds), root_account_(std::move(root_account)) {}

  std::string_view service() const override { return "rds"; }

  Result<service::ResourceChanges> ChangesSince(uint64_t cursor, size_t max) override {
    service::ResourceChanges out;
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, rds_.store->env().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(service::ResourceFeed::Page page, rds_.store->feed().Since(txn, cursor, max));
    out.cursor = page.cursor;
    out.more = page.more;
    for (const service::FeedEntry& e : page.entries) {
      service::ResourceChange change{e.kind, e.id, "", e.version, e.deleted};
      if (!e.deleted && e.kind == rds_.store->kinds()[kInstance].feed_kind) {
        ANNEX_ASSIGN_OR_RETURN(std::optional<Json> doc, rds_.store->Get(txn, kInstance, e.id));
        // Gone since the feed recorded the change: its deletion follows in the feed.
        if (!doc) change.deleted = true;
        else change.state_json = Summary(e.id, *doc).dump();
      }
      out.changes.push_back(std::move(change));
    }
    return out;
  }

  std::vector<Command> Commands() const override {
    return {{"CreateDBInstance",
             R"({"identifier": {"pattern": "^[A-Za-z][A-Za-z0-9-]{0,62}$"}, )"
             R"("instanceClass": {"pattern": "^db\\.[a-z0-9]+\\.[a-z0-9]+$"}, )"
             R"("allocatedStorage": {"pattern": "^[0-9]{1,5}$"}, )"
             R"("masterUsername": {"pattern": "^[A-Za-z][A-Za-z0-9_]{0,62}$"}, )"
             R"("masterUserPassword": {"pattern": "^[!-~]{8,128}$"}})"}};
  }

  Result<std::string> Execute(std::string_view kind, std::string_view args_json) override {
    if (kind != "CreateDBInstance") return Status::InvalidArgument("unknown command " + std::string(kind));
    Json args = Json::parse(args_json, nullptr, /*allow_exceptions=*/false);
    if (!args.is_object()) return Status::InvalidArgument("CreateDBInstance needs a JSON object of arguments");
    http::QueryParams params;
    params.Add("Engine", "postgres");
    for (const auto& [arg, parameter] : kCreateArgs) {
      if (args.contains(arg) && args[arg].is_string()) params.Add(parameter, args[arg].get<std::string>());
    }
    RdsParams call{params, rds_, root_account_, NowMs(*rds_.clock)};
    ANNEX_ASSIGN_OR_RETURN(Json doc, NewInstance(call));
    std::string identifier = doc["DBInstanceIdentifier"];
    if (!rds_.reconciler) return Status::FailedPrecondition(rds_.unavailable);
    Result<Json> created = StoreNewInstance(call, std::move(doc));
    if (!created.ok() && created.status().subcode() == "DBInstanceAlreadyExists") {
      return "DB instance " + identifier + " already exists";
    }
    if (!created.ok()) return created.status();
    return "DB instance " + identifier + " is being created";
  }

  std::vector<std::pair<std::string, uint64_t>> Gauges() override {
    uint64_t available = 0, allocated_gib = 0;
    if (auto all = rds_.store->Scan(kInstance, ""); all.ok()) {
      for (const auto& [key, db] : *all) {
        available += db.value("DBInstanceStatus", "") == "available";
        allocated_gib += static_cast<uint64_t>(db.value("AllocatedStorage", int64_t{0}));
      }
    }
    return {{"db_instances_available", available}, {"db_allocated_gib", allocated_gib}};
  }

 private:
  Rds& rds_;
  const std::string root_account_;
};

}  // namespace

std::unique_ptr<service::ServiceControl> NewDatabaseControl(Rds& rds, std::string root_account) {
  return std::make_unique<DatabaseControl>(rds, std::move(root_account));
}

}  // namespace annex::database
