#include "services/containers/containers_control.h"

#include "services/containers/service_document.h"
#include "services/containers/task_document.h"
#include "services/containers/task_runtime.h"

namespace annex::containers {
namespace {

std::optional<EcsKind> KindOf(std::string_view name) {
  for (EcsKind k : {EcsKind::kCluster, EcsKind::kTaskDefinition, EcsKind::kTask, EcsKind::kService}) {
    if (KindName(k) == name) return k;
  }
  return std::nullopt;
}

// What the control plane shows of a resource: the members an operator
// looks for, not the whole document.
Json Summary(EcsKind kind, const std::string& key, const Json& doc) {
  std::string account = key.substr(0, key.find('/'));
  auto pick = [&](Json out, std::initializer_list<const char*> members) {
    out["account"] = account;
    for (const char* m : members) {
      if (doc.contains(m)) out[m] = doc[m];
    }
    return out;
  };
  switch (kind) {
    case EcsKind::kCluster: return pick(Json::object(), {"clusterName", "status"});
    case EcsKind::kTaskDefinition: return pick(Json::object(), {"family", "revision", "status"});
    case EcsKind::kTask:
      return pick(Json::object(), {"taskArn", "clusterArn", "taskDefinitionArn", "lastStatus", "desiredStatus",
                                   "launchType", "group", "cpu", "memory", "startedAt", "stoppedAt", "stopCode",
                                   "stoppedReason"});
    case EcsKind::kService:
      return pick(Json::object(), {"serviceArn", "clusterArn", "status", "desiredCount", "runningCount",
                                   "pendingCount", "taskDefinition", "launchType"});
  }
  return Json::object();
}

class ContainersControl final : public service::ServiceControl {
 public:
  ContainersControl(Ecs& ecs, std::string root_account) : ecs_(ecs), root_account_(std::move(root_account)) {}

  std::string_view service() const override { return "ecs"; }

  Result<service::ResourceChanges> ChangesSince(uint64_t cursor, size_t max) override {
    service::ResourceChanges out;
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, ecs_.store->env().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(service::ResourceFeed::Page page, ecs_.store->feed().Since(txn, cursor, max));
    out.cursor = page.cursor;
    out.more = page.more;
    for (const service::FeedEntry& e : page.entries) {
      service::ResourceChange change{e.kind, e.id, "", e.version, e.deleted};
      std::optional<EcsKind> kind = KindOf(e.kind);
      if (!e.deleted && kind) {
        ANNEX_ASSIGN_OR_RETURN(std::optional<Json> doc, ecs_.store->Get(txn, *kind, e.id));
        // Gone since the feed recorded the change: its deletion follows in the feed.
        if (!doc) change.deleted = true;
        else change.state_json = Summary(*kind, e.id, *doc).dump();
      }
      out.changes.push_back(std::move(change));
    }
    return out;
  }

  std::vector<Command> Commands() const override {
    return {{"SetServiceDesiredCount",
             R"({"cluster": {"pattern": "^[A-Za-z0-9_-]{1,255}$"}, "service": {"pattern": "^[A-Za-z0-9_-]{1,255}$"}, )"
             R"("desiredCount": {"pattern": "^[0-9]{1,4}$"}})"}};
  }

  Result<std::string> Execute(std::string_view kind, std::string_view args_json) override {
    if (kind != "SetServiceDesiredCount") return Status::InvalidArgument("unknown command " + std::string(kind));
    Json args = Json::parse(args_json, nullptr, /*allow_exceptions=*/false);
    auto text = [&](const char* name) {
      return args.is_object() && args.contains(name) && args[name].is_string() ? args[name].get<std::string>() : "";
    };
    std::string cluster = text("cluster"), name = text("service"), count = text("desiredCount");
    if (cluster.empty() || name.empty() || count.empty() || count.size() > 4 ||
        count.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument(R"(SetServiceDesiredCount needs {"cluster", "service", "desiredCount"})");
    }
    int64_t desired = std::stoll(count);
    int64_t before = -1;
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(ecs_.clock->Now().time_since_epoch()).count();
    ANNEX_ASSIGN_OR_RETURN(auto updated, ecs_.store->Update(EcsKind::kService, EcsKey({root_account_, cluster, name}),
                                                            [&](std::optional<Json>& doc) {
      if (!doc || (*doc)["status"] != "ACTIVE") {
        return Status::NotFound("no ACTIVE service " + name + " in cluster " + cluster);
      }
      before = doc->value("desiredCount", int64_t{0});
      if (before == desired) return Status::OK();
      (*doc)["desiredCount"] = desired;
      (*doc)["deployments"][0]["desiredCount"] = desired;
      (*doc)["annex"]["steady"] = false;
      AddServiceEvent(*doc, "desired count set to " + count + " by the control plane.", now);
      return Status::OK();
    }));
    (void)updated;
    if (before == desired) return "service " + name + " already has desired count " + count;
    if (ecs_.runtime) ecs_.runtime->Wake();
    return "service " + name + " desired count " + std::to_string(before) + " -> " + count;
  }

  std::vector<std::pair<std::string, uint64_t>> Gauges() override {
    uint64_t running = 0, services = 0;
    if (auto tasks = ecs_.store->Scan(EcsKind::kTask, ""); tasks.ok()) {
      for (const auto& [key, t] : *tasks) running += t.value("lastStatus", "") == "RUNNING";
    }
    if (auto all = ecs_.store->Scan(EcsKind::kService, ""); all.ok()) {
      for (const auto& [key, s] : *all) services += s.value("status", "") == "ACTIVE";
    }
    return {{"tasks_running", running}, {"services_active", services}};
  }

 private:
  Ecs& ecs_;
  const std::string root_account_;
};

}  // namespace

std::unique_ptr<service::ServiceControl> NewContainersControl(Ecs& ecs, std::string root_account) {
  return std::make_unique<ContainersControl>(ecs, std::move(root_account));
}

}  // namespace annex::containers
