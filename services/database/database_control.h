#pragma once
// The database service's face toward the control plane: DB instances as
// resources of the zone's inventory (the store's resource feed, kind
// "db-instance"), CreateDBInstance as a desired-state command (acting as the
// appliance root, idempotent: an instance of that name already there is
// success), and gauges of instances and the storage allocated to them.

#include <memory>
#include <string>

#include "appliance/service/service_control.h"
#include "services/database/rds.h"

namespace annex::database {

std::unique_ptr<service::ServiceControl> NewDatabaseControl(Rds& rds, std::string root_account);

}  // namespace annex::database
