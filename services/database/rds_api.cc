// Dispatch of the RDS operations and their authorization.

#include "services/database/rds_api.h"

#include <array>

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "appliance/service/refusal_log.h"
#include "services/database/rds_call.h"
#include "services/database/rds_validation.h"
#include "services/database/rds_xml.h"

namespace annex::database {
namespace {

// What an operation is authorized on: the instance it names, the resource
// ARN it names, or nothing in particular.
enum class Scope { kAccount, kInstance, kResourceName };

struct NamedOperation {
  std::string_view name;
  Operation run;
  Scope scope;
  // The parameter naming the instance of Scope::kInstance.
  std::string_view instance_param = "DBInstanceIdentifier";
};

constexpr auto kOperations = std::to_array<NamedOperation>({
    {"AddTagsToResource", AddTagsToResource, Scope::kResourceName},
    {"CreateDBInstance", CreateDBInstance, Scope::kInstance},
    {"CreateDBSnapshot", CreateDBSnapshot, Scope::kInstance},
    {"DeleteDBInstance", DeleteDBInstance, Scope::kInstance},
    {"DescribeDBEngineVersions", DescribeDBEngineVersions, Scope::kAccount},
    {"DeleteDBSnapshot", DeleteDBSnapshot, Scope::kAccount},
    {"DescribeDBInstances", DescribeDBInstances, Scope::kInstance},
    {"DescribeDBSnapshots", DescribeDBSnapshots, Scope::kAccount},
    {"ListTagsForResource", ListTagsForResource, Scope::kResourceName},
    {"ModifyDBInstance", ModifyDBInstance, Scope::kInstance},
    {"RebootDBInstance", RebootDBInstance, Scope::kInstance},
    {"RemoveTagsFromResource", RemoveTagsFromResource, Scope::kResourceName},
    {"RestoreDBInstanceFromDBSnapshot", RestoreDBInstanceFromDBSnapshot, Scope::kInstance},
    {"RestoreDBInstanceToPointInTime", RestoreDBInstanceToPointInTime, Scope::kInstance, "TargetDBInstanceIdentifier"},
    {"StartDBInstance", StartDBInstance, Scope::kInstance},
    {"StopDBInstance", StopDBInstance, Scope::kInstance},
});

const NamedOperation* FindOperation(std::string_view name) {
  for (const auto& op : kOperations) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

// The root of the account acts freely in it; its users as their IAM policies
// allow, on the instance's ARN (rds:<Action>), as RDS authorizes them.
Status Authorize(const RdsCall& call, const NamedOperation& op, const service::Authorizer* authorizer) {
  if (call.ctx.principal.is_root()) return Status::OK();
  service::AccessRequest request;
  request.action = "rds:" + std::string(op.name);
  request.resource = "*";
  if (op.scope == Scope::kInstance) {
    if (const std::string* id = call.Get(op.instance_param); id && ValidateDBInstanceIdentifier(*id).ok()) {
      request.resource = InstanceArn(call.rds, call.account, NormalizeIdentifier(*id));
    }
  }
  if (op.scope == Scope::kResourceName) {
    ANNEX_ASSIGN_OR_RETURN(request.resource, call.Required("ResourceName"));
  }
  policy::AuthorizationRequest evaluated;
  if (authorizer) {
    policy::Verdict v = authorizer->Check(call.ctx, request, &evaluated);
    if (v.allowed()) return Status::OK();
    return http::ApiStatus("AccessDenied", policy::DenialMessage(evaluated, v));
  }
  return http::ApiStatus("AccessDenied",
                         "User: " + call.ctx.principal.arn + " is not authorized to perform: " + request.action);
}

}  // namespace

http::Task<Status> HandleRds(Rds& rds, const service::Authorizer* authorizer, service::RequestContext& ctx) {
  Result<http::QueryParams> params = co_await service::ReadQueryRequest(ctx);
  if (!params.ok()) co_return params.status();
  const std::string& action = *params->Get("Action");
  const NamedOperation* op = FindOperation(action);
  // Unknown names stay out of metrics labels: the client chooses them.
  ctx.operation = op ? std::string(op->name) : "InvalidAction";
  if (!op) co_return http::ApiStatus("InvalidAction", "The action " + action + " is not valid for this web service.");
  if (ctx.principal.anonymous) co_return http::ApiStatus("MissingAuthenticationToken", "Request must be signed");
  RdsCall call(ctx, *params, rds, ctx.principal.account_id, NowMs(ctx.clock));
  if (Status s = Authorize(call, *op, authorizer); !s.ok()) {
    service::LogRefusal(ctx, "rds:" + action, "", s);
    co_return s;
  }
  service::QueryResponder out(action, ctx.request.request_id, kRdsXmlNamespace);
  ANNEX_CO_RETURN_IF_ERROR(co_await op->run(call, out));
  co_return co_await service::SendQueryResponse(ctx, out.Finish());
}

}  // namespace annex::database
