#pragma once
// RdsCall: one RDS request as its operation sees it — the Query parameters,
// the caller's account, the service state — and the operations themselves,
// one function each (verify → execute → answer), rds_api.cc dispatching.

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "appliance/core/task.h"
#include "appliance/http/query.h"
#include "appliance/service/query_protocol.h"
#include "appliance/service/request_context.h"
#include "services/database/rds.h"

namespace annex::database {

// The parameters of one request, and whose: also built by the control
// plane's commands, which act as the appliance root without an HTTP request.
struct RdsParams {
  const http::QueryParams& params;
  Rds& rds;
  std::string account;  // the caller's: every identifier is looked up within it
  int64_t now_ms = 0;

  // The parameter's value, or nullptr.
  const std::string* Get(std::string_view name) const { return params.Get(name); }
  // The parameter's value; MissingParameter naming it when absent.
  Result<std::string> Required(std::string_view name) const;
  // An integer parameter, when present; InvalidParameterValue if not a number.
  Result<std::optional<int64_t>> Int(std::string_view name) const;
  // A boolean parameter ("true"/"false"), when present.
  Result<std::optional<bool>> Bool(std::string_view name) const;
};

struct RdsCall : RdsParams {
  RdsCall(service::RequestContext& ctx, const http::QueryParams& params, Rds& rds, std::string account,
          int64_t now_ms)
      : RdsParams{params, rds, std::move(account), now_ms}, ctx(ctx) {}
  service::RequestContext& ctx;

  // Runs a blocking store call (LMDB commits fsync) off the io thread.
  template <typename F>
  Task<std::invoke_result_t<F>> Blocking(F fn) {
    return ctx.blocking.Run(std::move(fn));
  }
};

// CreateDBInstance's parameters as a new instance document (validated,
// status "creating"), and its creation: the name checked against the
// account's instances, a port chosen, the master password left for the
// reconciler, the document stored. Blocking (LMDB, files).
Result<Json> NewInstance(const RdsParams& params);
Result<Json> StoreNewInstance(const RdsParams& params, Json doc);

// The answer's <ActionResult> is filled by the operation; rds_api.cc sends it.
using Operation = Task<Status> (*)(RdsCall&, service::QueryResponder&);

// RDS's errors for a missing instance and for one in the wrong state.
Status DBInstanceNotFound(std::string_view identifier);
Status InvalidDBInstanceState(std::string_view message);

// The instance document as DescribeDBInstances shows it: no private member,
// no Endpoint while it is being created, PendingModifiedValues from the
// modifications queued and not yet applied.
Json Shown(const Json& doc);

// The stored instance `identifier` (any case) of the caller's account;
// DBInstanceNotFound when there is none (or it is being deleted and gone).
Task<Result<Json>> FindInstance(RdsCall& call, std::string_view identifier);

// Instances (rds_instance_handlers.cc)
Task<Status> CreateDBInstance(RdsCall& call, service::QueryResponder& out);
Task<Status> DescribeDBInstances(RdsCall& call, service::QueryResponder& out);
Task<Status> ModifyDBInstance(RdsCall& call, service::QueryResponder& out);
Task<Status> DeleteDBInstance(RdsCall& call, service::QueryResponder& out);
Task<Status> RebootDBInstance(RdsCall& call, service::QueryResponder& out);
Task<Status> StopDBInstance(RdsCall& call, service::QueryResponder& out);
Task<Status> StartDBInstance(RdsCall& call, service::QueryResponder& out);
// Snapshots (rds_snapshot_handlers.cc)
Task<Status> CreateDBSnapshot(RdsCall& call, service::QueryResponder& out);
Task<Status> DescribeDBSnapshots(RdsCall& call, service::QueryResponder& out);
Task<Status> DeleteDBSnapshot(RdsCall& call, service::QueryResponder& out);
Task<Status> RestoreDBInstanceFromDBSnapshot(RdsCall& call, service::QueryResponder& out);
Task<Status> RestoreDBInstanceToPointInTime(RdsCall& call, service::QueryResponder& out);
// A manual snapshot of `instance_id`, "creating", with the instance told to
// take it; `for_delete` allows an instance already "deleting" (its final
// snapshot). DBSnapshotAlreadyExists, DBInstanceNotFound, InvalidDBInstanceState.
Result<Json> StoreNewSnapshot(const RdsParams& call, const std::string& instance_id, const std::string& snapshot_id,
                              const Json& tags, bool for_delete);
// Engine versions and tags (rds_resource_handlers.cc)
Task<Status> DescribeDBEngineVersions(RdsCall& call, service::QueryResponder& out);
Task<Status> AddTagsToResource(RdsCall& call, service::QueryResponder& out);
Task<Status> ListTagsForResource(RdsCall& call, service::QueryResponder& out);
Task<Status> RemoveTagsFromResource(RdsCall& call, service::QueryResponder& out);

}  // namespace annex::database
