// Dispatch of the ECS operations and their authorization.

#include "services/containers/ecs_api.h"

#include <array>

#include "appliance/http/api_error.h"
#include "appliance/service/authorizer.h"
#include "services/containers/ecs_call.h"

namespace annex::containers {
namespace {

// Task definitions are small (ECS caps one at 64 KiB); room for JSON escaping.
constexpr size_t kMaxBody = size_t{1} << 20;

using Operation = Task<Answer> (*)(EcsCall&);

// What an operation is authorized on: its cluster, the resource ARN it
// names, or nothing in particular.
enum class Scope { kAccount, kCluster, kResourceArn };

struct NamedOperation {
  std::string_view name;
  Operation run;
  Scope scope;
};

constexpr auto kOperations = std::to_array<NamedOperation>({
    {"CreateCluster", CreateCluster, Scope::kAccount},
    {"CreateService", CreateService, Scope::kCluster},
    {"DeleteCluster", DeleteCluster, Scope::kCluster},
    {"DeleteService", DeleteService, Scope::kCluster},
    {"DeregisterTaskDefinition", DeregisterTaskDefinition, Scope::kAccount},
    {"DescribeClusters", DescribeClusters, Scope::kAccount},
    {"DescribeContainerInstances", DescribeContainerInstances, Scope::kCluster},
    {"DescribeServices", DescribeServices, Scope::kCluster},
    {"DescribeTaskDefinition", DescribeTaskDefinition, Scope::kAccount},
    {"DescribeTasks", DescribeTasks, Scope::kCluster},
    {"ListClusters", ListClusters, Scope::kAccount},
    {"ListContainerInstances", ListContainerInstances, Scope::kCluster},
    {"ListServices", ListServices, Scope::kCluster},
    {"ListTagsForResource", ListTagsForResource, Scope::kResourceArn},
    {"ListTaskDefinitionFamilies", ListTaskDefinitionFamilies, Scope::kAccount},
    {"ListTaskDefinitions", ListTaskDefinitions, Scope::kAccount},
    {"ListTasks", ListTasks, Scope::kCluster},
    {"RegisterTaskDefinition", RegisterTaskDefinition, Scope::kAccount},
    {"RunTask", RunTask, Scope::kCluster},
    {"StopTask", StopTask, Scope::kCluster},
    {"TagResource", TagResource, Scope::kResourceArn},
    {"UntagResource", UntagResource, Scope::kResourceArn},
    {"UpdateService", UpdateService, Scope::kCluster},
});

const NamedOperation* FindOperation(std::string_view name) {
  for (const auto& op : kOperations) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

// The root of the account acts freely in it; its users as their IAM policies allow.
Status Authorize(const EcsCall& call, const NamedOperation& op, const service::Authorizer* authorizer) {
  if (call.ctx.principal.is_root()) return Status::OK();
  service::AccessRequest request;
  request.action = "ecs:" + std::string(op.name);
  request.resource = "*";
  if (op.scope == Scope::kCluster) {
    ANNEX_ASSIGN_OR_RETURN(std::string cluster, ClusterName(call));
    request.resource = call.ecs.ClusterArn(call.account, cluster);
  }
  if (op.scope == Scope::kResourceArn) {
    ANNEX_ASSIGN_OR_RETURN(request.resource, call.params.RequiredString("resourceArn"));
  }
  policy::AuthorizationRequest evaluated;
  if (authorizer) {
    policy::Verdict v = authorizer->Check(call.ctx, request, &evaluated);
    if (v.allowed()) return Status::OK();
    return http::ApiStatus("AccessDeniedException", policy::DenialMessage(evaluated, v));
  }
  return http::ApiStatus("AccessDeniedException",
                         "User: " + call.ctx.principal.arn + " is not authorized to perform: " + request.action);
}

}  // namespace

http::Task<Status> HandleEcs(Ecs& ecs, const service::Authorizer* authorizer, service::RequestContext& ctx) {
  const std::string* target = ctx.request.headers.Get("x-amz-target");
  std::string_view name = target ? std::string_view(*target) : std::string_view();
  const NamedOperation* op =
      name.starts_with(kEcsTargetPrefix) ? FindOperation(name.substr(kEcsTargetPrefix.size())) : nullptr;
  // Unknown names stay out of metrics labels: the client chooses them.
  ctx.operation = op ? std::string(op->name) : "UnknownOperation";
  if (!op) co_return http::ApiStatus("UnknownOperationException", "Unknown operation " + std::string(name));
  if (ctx.principal.anonymous) co_return http::ApiStatus("AccessDeniedException", "Request must be signed");

  Result<std::string> body = co_await http::ReadSmallBody(ctx.body, kMaxBody);
  if (!body.ok()) co_return body.status();
  ANNEX_CO_ASSIGN_OR_RETURN(service::JsonParams params, service::JsonParams::Parse(*body));
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock.Now().time_since_epoch()).count();
  EcsCall call{ctx, params, ecs, ctx.principal.account_id, now_ms};
  ANNEX_CO_RETURN_IF_ERROR(Authorize(call, *op, authorizer));
  Answer answer = co_await op->run(call);
  if (!answer.ok()) co_return answer.status();
  http::Response response;
  response.headers.Set("content-type", "application/x-amz-json-1.1");
  response.body = answer->dump(-1, ' ', false, Json::error_handler_t::replace);
  ctx.bytes_out = response.body.size();
  co_return co_await ctx.response.Send(std::move(response));
}

}  // namespace annex::containers
