#pragma once
// The RDS Query API (Action=…&Version=2014-10-31, SigV4 signing name "rds",
// XML answers and errors): PostgreSQL instances, engine versions and tags.

#include "appliance/core/task.h"
#include "appliance/service/authorizer.h"
#include "appliance/service/request_context.h"
#include "services/database/rds.h"

namespace annex::database {

// Serves one RDS request; returns an error Status for the edge to render in
// the Query protocol's shape (the codes are in rds_errors.h).
http::Task<Status> HandleRds(Rds& rds, const service::Authorizer* authorizer, service::RequestContext& ctx);

}  // namespace annex::database
