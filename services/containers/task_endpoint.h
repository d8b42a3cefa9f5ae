#pragma once
// The endpoint every task reaches at 169.254.170.2 (ECS's task metadata and
// credentials endpoint; the workload network DNATs it to annexd):
//
//   GET /v4/<container token>            the container's metadata
//   GET /v4/<container token>/task       the task's, with every container
//   GET /v3/…                            the same, for older clients
//   GET /v2/credentials/<credentials id> the task role's temporary credentials
//
// The caller is known by its source address: only a task's own address gets
// its metadata or credentials, and the token or id in the path must be that
// task's too, so neither another task nor a leaked id reaches them. The
// credentials are minted by the IAM module for the task role (which must
// trust ecs-tasks.amazonaws.com) and rotated before they expire.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "appliance/core/task.h"
#include "appliance/service/request_context.h"
#include "appliance/service/role_credentials.h"
#include "services/containers/ecs.h"

namespace annex::containers {

inline constexpr std::string_view kTaskEndpointHost = "169.254.170.2";

class TaskEndpoint {
 public:
  TaskEndpoint(Ecs& ecs, service::RoleCredentialSource* roles) : ecs_(ecs), roles_(roles) {}
  http::Task<Status> Handle(service::RequestContext& ctx);

 private:
  Result<service::RoleCredentials> Credentials(const Json& task);
  // Drops the cached credentials of tasks no longer running.
  void ForgetStoppedTasks(const std::vector<std::pair<std::string, Json>>& tasks);
  Ecs& ecs_;
  service::RoleCredentialSource* roles_;
  std::mutex mu_;
  // Per task id: its role's credentials, kept fresh while it runs.
  std::map<std::string, std::unique_ptr<service::RotatingRoleCredentials>> credentials_;
};

// The environment ECS gives a task's container `index` so it finds the
// endpoint (and, with `api_endpoint`, the appliance's API).
std::vector<std::string> TaskEndpointEnv(const Json& task, size_t index, const std::string& api_endpoint);

}  // namespace annex::containers
