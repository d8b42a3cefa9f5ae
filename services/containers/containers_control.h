#pragma once
// The containers service's face toward the control plane: clusters, task
// definitions, tasks and services as resources of the zone's inventory (the
// store's resource feed), the SetServiceDesiredCount command, and gauges of
// running tasks and active services.

#include <memory>
#include <string>

#include "appliance/service/service_control.h"
#include "services/containers/ecs.h"

namespace annex::containers {

// Commands act in `root_account`, as the appliance root.
std::unique_ptr<service::ServiceControl> NewContainersControl(Ecs& ecs, std::string root_account);

}  // namespace annex::containers
