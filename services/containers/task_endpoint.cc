#include "services/containers/task_endpoint.h"

#include <algorithm>

#include "appliance/core/strings.h"
#include "services/containers/task_document.h"

namespace annex::containers {
namespace {

constexpr const char* kBase = "http://169.254.170.2";
constexpr std::string_view kMetadataVersions[] = {"/v4/", "/v3/"};

http::Response JsonResponse(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.headers.Set("content-type", "application/json");
  r.body = body.dump();
  return r;
}

Json Error(std::string code, std::string message) { return {{"code", std::move(code)}, {"message", std::move(message)}}; }
Json NotFound(std::string message) { return Error("NotFound", std::move(message)); }

http::Response CredentialsResponse(const Json& p, const service::RoleCredentials& creds) {
  return JsonResponse(200, {
                               {"RoleArn", p.value("taskRoleArn", "")},
                               {"AccessKeyId", creds.access_key_id},
                               {"SecretAccessKey", creds.secret_access_key},
                               {"Token", creds.session_token},
                               {"Expiration", FormatIso8601(creds.expiration)},
                           });
}

std::string SourceIp(const std::string& remote) {
  size_t colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

Json ContainerMetadata(const Json& task, size_t i) {
  const Json& c = task["containers"][i];
  const Json& p = task[kPrivate];
  std::string def_arn = task.value("taskDefinitionArn", "");
  std::string family_rev = def_arn.substr(def_arn.rfind('/') + 1);
  std::string family = family_rev.substr(0, family_rev.find(':'));
  std::string revision = family_rev.substr(family_rev.find(':') + 1);
  Json j = {
      {"DockerId", c.value("runtimeId", "")},
      {"Name", c.value("name", "")},
      {"DockerName", c.value("runtimeId", "")},
      {"Image", c.value("image", "")},
      {"ImageID", c.value("imageDigest", "")},
      {"Labels",
       {{"com.amazonaws.ecs.cluster", task.value("clusterArn", "")},
        {"com.amazonaws.ecs.container-name", c.value("name", "")},
        {"com.amazonaws.ecs.task-arn", task.value("taskArn", "")},
        {"com.amazonaws.ecs.task-definition-family", family},
        {"com.amazonaws.ecs.task-definition-version", revision}}},
      {"DesiredStatus", task.value("desiredStatus", "")},
      {"KnownStatus", c.value("lastStatus", "")},
      {"Limits", {{"CPU", std::stoi(c.value("cpu", "0"))}}},
      {"Type", "NORMAL"},
      {"ContainerARN", c.value("containerArn", "")},
  };
  if (c.contains("memory")) j["Limits"]["Memory"] = std::stoi(c["memory"].get<std::string>());
  if (c.contains("exitCode")) j["ExitCode"] = c["exitCode"];
  if (p.contains("ipv4")) {
    j["Networks"] = Json::array({{{"NetworkMode", p.value("networkMode", "awsvpc")},
                                  {"IPv4Addresses", Json::array({p["ipv4"]})}}});
  }
  return j;
}

Json TaskMetadata(const Json& task) {
  std::string def_arn = task.value("taskDefinitionArn", "");
  std::string family_rev = def_arn.substr(def_arn.rfind('/') + 1);
  Json j = {
      {"Cluster", task.value("clusterArn", "")},
      {"TaskARN", task.value("taskArn", "")},
      {"Family", family_rev.substr(0, family_rev.find(':'))},
      {"Revision", family_rev.substr(family_rev.find(':') + 1)},
      {"DesiredStatus", task.value("desiredStatus", "")},
      {"KnownStatus", task.value("lastStatus", "")},
      {"AvailabilityZone", task.value("availabilityZone", "")},
      {"LaunchType", task.value("launchType", "")},
      {"Containers", Json::array()},
  };
  if (task.contains("cpu") || task.contains("memory")) {
    j["Limits"] = Json::object();
    if (task.contains("cpu")) j["Limits"]["CPU"] = std::stod(task["cpu"].get<std::string>()) / 1024.0;
    if (task.contains("memory")) j["Limits"]["Memory"] = std::stoi(task["memory"].get<std::string>());
  }
  for (size_t i = 0; i < task["containers"].size(); ++i) j["Containers"].push_back(ContainerMetadata(task, i));
  return j;
}

}  // namespace

std::vector<std::string> TaskEndpointEnv(const Json& task, size_t index, const std::string& api_endpoint) {
  const Json& p = task[kPrivate];
  std::vector<std::string> env;
  std::string token = p.value("endpointToken", "") + "-" + std::to_string(index);
  env.push_back("ECS_CONTAINER_METADATA_URI_V4=" + std::string(kBase) + "/v4/" + token);
  env.push_back("ECS_CONTAINER_METADATA_URI=" + std::string(kBase) + "/v3/" + token);
  if (p.contains("credentialsId")) {
    env.push_back("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/" + p["credentialsId"].get<std::string>());
  }
  if (!api_endpoint.empty()) env.push_back("AWS_ENDPOINT_URL=" + api_endpoint);
  return env;
}

void TaskEndpoint::ForgetStoppedTasks(const std::vector<std::pair<std::string, Json>>& tasks) {
  std::lock_guard lock(mu_);
  std::erase_if(credentials_, [&](const auto& entry) {
    return std::none_of(tasks.begin(), tasks.end(), [&](const auto& t) {
      return !TaskStopped(t.second) && t.second[kPrivate].value("id", "") == entry.first;
    });
  });
}

Result<service::RoleCredentials> TaskEndpoint::Credentials(const Json& task) {
  const Json& p = task[kPrivate];
  std::string id = p.value("id", "");
  service::RotatingRoleCredentials* rotating = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& slot = credentials_[id];
    if (!slot) {
      service::RoleGrant grant;
      grant.account_id = p.value("account", "");
      grant.role_arn = p.value("taskRoleArn", "");
      grant.service_principal = "ecs-tasks.amazonaws.com";
      grant.session_name = id;
      slot = std::make_unique<service::RotatingRoleCredentials>(*roles_, grant, *ecs_.clock);
    }
    rotating = slot.get();
  }
  return rotating->Current();
}

http::Task<Status> TaskEndpoint::Handle(service::RequestContext& ctx) {
  ctx.operation = "TaskEndpoint";
  const std::string& path = ctx.request.path;
  if (ctx.request.method != "GET") co_return co_await ctx.response.Send(JsonResponse(405, NotFound("GET only")));
  std::string ip = SourceIp(ctx.request.remote_address);
  // The caller's own task: the one that holds its source address.
  auto tasks = co_await ctx.blocking.Run([&] { return ecs_.store->Scan(EcsKind::kTask, ""); });
  if (!tasks.ok()) co_return tasks.status();
  const Json* task = nullptr;
  for (const auto& [key, t] : *tasks) {
    if (!TaskStopped(t) && t[kPrivate].value("ipv4", "") == ip) task = &t;
  }
  if (!task) co_return co_await ctx.response.Send(JsonResponse(404, NotFound("no task at " + ip)));
  ForgetStoppedTasks(*tasks);
  const Json& p = (*task)[kPrivate];

  if (path.starts_with("/v2/credentials/")) {
    std::string id = path.substr(std::string_view("/v2/credentials/").size());
    if (!p.contains("credentialsId") || id != p["credentialsId"].get<std::string>() || !roles_) {
      co_return co_await ctx.response.Send(JsonResponse(404, NotFound("no credentials for " + id)));
    }
    Result<service::RoleCredentials> creds = co_await ctx.blocking.Run([&] { return Credentials(*task); });
    // Built outside the co_await: GCC 12 miscompiles braced JSON in a coroutine's await expression.
    http::Response answer = creds.ok() ? CredentialsResponse(p, *creds)
                                       : JsonResponse(400, Error("InvalidRoleException", creds.status().message()));
    co_return co_await ctx.response.Send(std::move(answer));
  }
  for (std::string_view version : kMetadataVersions) {
    if (!path.starts_with(version)) continue;
    std::string rest = path.substr(version.size());
    std::string token = rest.substr(0, rest.find('/'));
    std::string what = rest.size() > token.size() ? rest.substr(token.size()) : "";
    std::string prefix = p.value("endpointToken", "") + "-";
    size_t index = SIZE_MAX;
    std::string digits = token.size() > prefix.size() ? token.substr(prefix.size()) : "";
    if (token.starts_with(prefix) && !digits.empty() && digits.size() <= 3 &&
        digits.find_first_not_of("0123456789") == std::string::npos) {
      index = std::stoul(digits);
    }
    if (index >= (*task)["containers"].size()) break;
    if (what.empty()) co_return co_await ctx.response.Send(JsonResponse(200, ContainerMetadata(*task, index)));
    if (what == "/task") co_return co_await ctx.response.Send(JsonResponse(200, TaskMetadata(*task)));
    if (what == "/stats" || what == "/task/stats") co_return co_await ctx.response.Send(JsonResponse(200, Json()));
    break;
  }
  co_return co_await ctx.response.Send(JsonResponse(404, NotFound("no such path " + path)));
}

}  // namespace annex::containers
