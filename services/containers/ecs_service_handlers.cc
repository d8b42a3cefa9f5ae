// CreateService, UpdateService, DeleteService, DescribeServices,
// ListServices. Handlers change what the service should be (its desired
// count, a new deployment, DRAINING) and wake the runtime; the service
// scheduler (service_scheduler.cc) starts and stops the tasks.

#include <algorithm>
#include <cctype>

#include "appliance/http/api_error.h"
#include "services/containers/ecs_call.h"
#include "services/containers/ecs_tags.h"
#include "services/containers/ecs_task_definitions.h"
#include "services/containers/service_document.h"
#include "services/containers/task_runtime.h"

namespace annex::containers {
namespace {

constexpr int kMaxDesiredCount = 1000;

Status ServiceNotFound() { return http::ApiStatus("ServiceNotFoundException", "Service not found."); }

bool ValidServiceName(const std::string& s) {
  return !s.empty() && s.size() <= 255 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

// The service a `service` member names: a name or
// arn:aws:ecs:<region>:<account>:service/<cluster>/<name>.
Result<std::string> ServiceName(const EcsCall& call, const std::string& cluster, std::string_view member) {
  ANNEX_ASSIGN_OR_RETURN(std::string given, call.params.RequiredString(member));
  if (given.starts_with("arn:")) {
    std::string prefix = call.ecs.Arn(call.account, "service/" + cluster + "/");
    if (!given.starts_with(prefix)) return ServiceNotFound();
    given = given.substr(prefix.size());
  }
  if (!ValidServiceName(given)) return ServiceNotFound();
  return given;
}

// deploymentConfiguration: maximumPercent, minimumHealthyPercent, circuit breaker.
Result<Json> ParseDeploymentConfiguration(const EcsCall& call, const Json& current) {
  ANNEX_ASSIGN_OR_RETURN(const Json* given, call.params.Object("deploymentConfiguration"));
  Json config = current.is_object() ? current
                                    : Json{{"maximumPercent", 200},
                                           {"minimumHealthyPercent", 100},
                                           {"deploymentCircuitBreaker", {{"enable", false}, {"rollback", false}}}};
  if (!given) return config;
  for (const char* key : {"maximumPercent", "minimumHealthyPercent"}) {
    if (auto it = given->find(key); it != given->end() && !it->is_null()) {
      if (!it->is_number_integer()) return service::SerializationError(std::string("Member '") + key + "' must be an integer");
      config[key] = it->get<int64_t>();
    }
  }
  if (auto cb = given->find("deploymentCircuitBreaker"); cb != given->end() && cb->is_object()) {
    config["deploymentCircuitBreaker"] = {{"enable", cb->value("enable", false)}, {"rollback", cb->value("rollback", false)}};
  }
  int64_t max = config["maximumPercent"], min = config["minimumHealthyPercent"];
  if (max < 100 || max > 200) return InvalidParameter("maximumPercent must be between 100 and 200.");
  if (min < 0 || min > 100) return InvalidParameter("minimumHealthyPercent must be between 0 and 100.");
  if (max == 100 && min == 100) {
    return InvalidParameter("The maximumPercent and minimumHealthyPercent cannot both be 100.");
  }
  return config;
}

// The task definition a `taskDefinition` member names, ACTIVE, with its ARN.
Result<TaskDefinition> RequireTaskDefinition(const EcsCall& call, const std::string& ref) {
  ANNEX_ASSIGN_OR_RETURN(auto found, FindTaskDefinition(call.ecs, call.account, ref));
  if (!found) return ClientError("Unable to describe task definition.");
  if ((*found).value("status", "") != "ACTIVE") return ClientError("TaskDefinition is inactive");
  return LoadTaskDefinition(call.ecs, call.account, *found);
}

Status CheckDesiredCount(int64_t n) {
  if (n < 0 || n > kMaxDesiredCount) {
    return InvalidParameter("desiredCount must be between 0 and " + std::to_string(kMaxDesiredCount) + ".");
  }
  return Status::OK();
}

}  // namespace

Task<Answer> CreateService(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RunRequest run, ParseRun(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string name, call.params.RequiredString("serviceName"));
  if (!ValidServiceName(name)) {
    co_return InvalidParameter(
        "Service name can have up to 255 characters including letters (uppercase and lowercase), numbers, "
        "underscores, and hyphens.");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(std::string ref, call.params.RequiredString("taskDefinition"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto strategy, call.params.String("schedulingStrategy"));
  std::string scheduling = strategy.value_or("REPLICA");
  if (scheduling != "REPLICA" && scheduling != "DAEMON") co_return InvalidParameter("Invalid schedulingStrategy: " + scheduling);
  ANNEX_CO_ASSIGN_OR_RETURN(auto desired, call.params.Long("desiredCount"));
  // A DAEMON service runs one task on each container instance: this server.
  if (scheduling == "DAEMON") desired = 1;
  if (!desired) co_return InvalidParameter("desiredCount is required for services with the REPLICA scheduling strategy.");
  ANNEX_CO_RETURN_IF_ERROR(CheckDesiredCount(*desired));
  ANNEX_CO_ASSIGN_OR_RETURN(Json config, ParseDeploymentConfiguration(call, Json()));
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, run.cluster)).status());
  auto def = co_await call.Blocking([&] { return RequireTaskDefinition(call, ref); });
  if (!def.ok()) co_return def.status();
  ANNEX_CO_RETURN_IF_ERROR(CheckLaunch(*def, run));

  Json service = {
      {"serviceArn", call.ecs.Arn(call.account, "service/" + run.cluster + "/" + name)},
      {"serviceName", name},
      {"clusterArn", call.ecs.ClusterArn(call.account, run.cluster)},
      {"loadBalancers", Json::array()},
      {"serviceRegistries", Json::array()},
      {"status", "ACTIVE"},
      {"desiredCount", *desired},
      {"runningCount", 0},
      {"pendingCount", 0},
      {"launchType", run.launch_type},
      {"taskDefinition", def->taskDefinitionArn},
      {"deploymentConfiguration", config},
      {"events", Json::array()},
      {"createdAt", EpochSeconds(call.now_ms)},
      {"placementConstraints", Json::array()},
      {"placementStrategy", Json::array()},
      {"schedulingStrategy", scheduling},
      {"deploymentController", {{"type", "ECS"}}},
      {"createdBy", call.ctx.principal.arn},
      {"enableECSManagedTags", false},
      {"propagateTags", "NONE"},
      {"enableExecuteCommand", false},
      {"tags", run.tags},
  };
  if (!run.platform_version.empty()) service["platformVersion"] = run.platform_version;
  if (!run.network.is_null()) service["networkConfiguration"] = {{"awsvpcConfiguration", run.network}};
  service["deployments"] = Json::array({NewDeployment(service, def->taskDefinitionArn, call.now_ms)});
  service["annex"] = {{"account", call.account}, {"cluster", run.cluster}};

  auto created = co_await call.Blocking([&] {
    return call.ecs.store->Update(EcsKind::kService, EcsKey({call.account, run.cluster, name}), [&](std::optional<Json>& doc) {
      if (doc && (*doc)["status"] != "INACTIVE") return InvalidParameter("Creation of service was not idempotent.");
      doc = service;
      return Status::OK();
    });
  });
  if (!created.ok()) co_return created.status();
  if (call.ecs.runtime) call.ecs.runtime->Wake();
  co_return Json{{"service", RenderService(**created, true)}};
}

Task<Answer> UpdateService(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string name, ServiceName(call, cluster, "service"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto desired, call.params.Long("desiredCount"));
  if (desired) ANNEX_CO_RETURN_IF_ERROR(CheckDesiredCount(*desired));
  ANNEX_CO_ASSIGN_OR_RETURN(auto ref, call.params.String("taskDefinition"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto force, call.params.Bool("forceNewDeployment"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto platform, call.params.String("platformVersion"));
  ANNEX_CO_ASSIGN_OR_RETURN(const Json* network, call.params.Object("networkConfiguration"));
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  auto updated = co_await call.Blocking([&]() -> Result<std::optional<Json>> {
    std::optional<TaskDefinition> def;
    if (ref) {
      ANNEX_ASSIGN_OR_RETURN(TaskDefinition d, RequireTaskDefinition(call, *ref));
      def = std::move(d);
    }
    return call.ecs.store->Update(EcsKind::kService, EcsKey({call.account, cluster, name}), [&](std::optional<Json>& doc) {
      if (!doc) return ServiceNotFound();
      Json& s = *doc;
      if (s["status"] != "ACTIVE") return http::ApiStatus("ServiceNotActiveException", "Service was not ACTIVE.");
      ANNEX_ASSIGN_OR_RETURN(Json config, ParseDeploymentConfiguration(call, s["deploymentConfiguration"]));
      s["deploymentConfiguration"] = config;
      if (desired) s["desiredCount"] = *desired;
      if (network) {
        auto vpc = network->find("awsvpcConfiguration");
        if (vpc == network->end() || !vpc->is_object()) {
          return InvalidParameter("networkConfiguration.awsvpcConfiguration must be provided.");
        }
        s["networkConfiguration"] = {{"awsvpcConfiguration", *vpc}};
      }
      if (platform) s["platformVersion"] = *platform;
      bool redeploy = force.value_or(false) || network || platform ||
                      (def && def->taskDefinitionArn != s.value("taskDefinition", ""));
      if (def) {
        RunRequest run;
        run.launch_type = s.value("launchType", "EC2");
        run.platform_version = s.value("platformVersion", "");
        if (s.contains("networkConfiguration")) run.network = s["networkConfiguration"]["awsvpcConfiguration"];
        ANNEX_RETURN_IF_ERROR(CheckLaunch(*def, run));
        s["taskDefinition"] = def->taskDefinitionArn;
      }
      if (redeploy) {
        // The new deployment is PRIMARY; the others drain as it comes up.
        for (Json& d : s["deployments"]) d["status"] = "ACTIVE";
        s["deployments"].insert(s["deployments"].begin(), NewDeployment(s, s["taskDefinition"], call.now_ms));
        s["annex"]["steady"] = false;
      }
      s["deployments"][0]["desiredCount"] = s["desiredCount"];
      return Status::OK();
    });
  });
  if (!updated.ok()) co_return updated.status();
  if (call.ecs.runtime) call.ecs.runtime->Wake();
  co_return Json{{"service", RenderService(**updated, false)}};
}

Task<Answer> DeleteService(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string name, ServiceName(call, cluster, "service"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto force, call.params.Bool("force"));
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  auto deleted = co_await call.Blocking([&] {
    return call.ecs.store->Update(EcsKind::kService, EcsKey({call.account, cluster, name}), [&](std::optional<Json>& doc) {
      if (!doc || (*doc)["status"] == "INACTIVE") return ServiceNotFound();
      Json& s = *doc;
      if (s["status"] == "DRAINING") return Status::OK();
      if (s.value("desiredCount", 0) > 0 && !force.value_or(false) && s.value("schedulingStrategy", "") != "DAEMON") {
        return InvalidParameter("The service cannot be stopped while it is scaled above 0.");
      }
      // The scheduler stops its tasks, then the service is INACTIVE.
      s["status"] = "DRAINING";
      s["desiredCount"] = 0;
      for (Json& d : s["deployments"]) d["desiredCount"] = 0;
      return Status::OK();
    });
  });
  if (!deleted.ok()) co_return deleted.status();
  if (call.ecs.runtime) call.ecs.runtime->Wake();
  co_return Json{{"service", RenderService(**deleted, false)}};
}

Task<Answer> DescribeServices(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto wanted, call.params.StringList("services", 0, 10));
  if (!wanted) co_return service::MissingMember("services");
  ANNEX_CO_ASSIGN_OR_RETURN(auto include, call.params.StringList("include", 0, 1));
  bool with_tags = include && !include->empty() && include->front() == "TAGS";
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  Json services = Json::array(), failures = Json::array();
  for (const std::string& given : *wanted) {
    std::string name(given.starts_with("arn:") ? LastPathPart(given) : std::string_view(given));
    std::string arn = call.ecs.Arn(call.account, "service/" + cluster + "/" + name);
    Result<std::optional<Json>> doc = std::optional<Json>();
    if (ValidServiceName(name) && (!given.starts_with("arn:") || given == arn)) {
      doc = co_await call.Blocking(
          [&] { return call.ecs.store->Get(EcsKind::kService, EcsKey({call.account, cluster, name})); });
    }
    if (!doc.ok()) co_return doc.status();
    if (!*doc) {
      failures.push_back({{"arn", given.starts_with("arn:") ? given : arn}, {"reason", "MISSING"}});
      continue;
    }
    services.push_back(RenderService(**doc, with_tags));
  }
  co_return Json{{"services", services}, {"failures", failures}};
}

Task<Answer> ListServices(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto launch_type, call.params.String("launchType"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto strategy, call.params.String("schedulingStrategy"));
  ANNEX_CO_ASSIGN_OR_RETURN(size_t limit, ReadMaxResults(call, 10));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  if (launch_type && !OneOf(*launch_type, {"EC2", "FARGATE", "EXTERNAL"})) {
    co_return InvalidParameter("Invalid launchType: " + *launch_type);
  }
  ANNEX_CO_RETURN_IF_ERROR((co_await RequireActiveCluster(call, cluster)).status());
  auto docs = co_await call.Blocking([&] {
    return call.ecs.store->Scan(EcsKind::kService, EcsKey({call.account, cluster}) + "/", after);
  });
  if (!docs.ok()) co_return docs.status();
  Json arns = Json::array();
  Json answer = Json::object();
  for (const auto& [key, doc] : *docs) {
    // A DRAINING service is on its way out: ECS no longer lists it.
    if (doc.value("status", "") != "ACTIVE") continue;
    if (launch_type && doc.value("launchType", "") != *launch_type) continue;
    if (strategy && doc.value("schedulingStrategy", "") != *strategy) continue;
    if (arns.size() == limit) {
      answer["nextToken"] = MakeNextToken(after);
      break;
    }
    arns.push_back(doc.value("serviceArn", ""));
    after = key;
  }
  answer["serviceArns"] = arns;
  co_return answer;
}

}  // namespace annex::containers
