#pragma once
// The RDS Query API (SigV4 signing name "rds") and the PostgreSQL instances
// behind it. Every caller acts within its own account: instances are looked
// up under the principal's account id. The account's root may do everything
// in it; its users what their IAM policies allow (rds:<Action> on the
// instance's ARN).
//
// Instances run PostgreSQL from Debian's packages as supervised workloads
// (they outlive annexd), each under the `postgres` system user, on a port
// of its own, with its data on a volume sized as its AllocatedStorage
// (instance_volume.h). Without root (no supervisor) or without PostgreSQL,
// the API still answers and CreateDBInstance says why no instance can run.

#include "appliance/core/result.h"
#include "appliance/service/environment.h"

namespace annex::database {

Result<service::Module> NewModule(const service::Environment& env);

}  // namespace annex::database
