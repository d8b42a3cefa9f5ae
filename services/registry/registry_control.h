#pragma once
// The registry's face toward the control plane (service::ServiceControl):
// repositories and images as resources ("repository", "image"), the
// ImportImage desired-state command (an archive already on the appliance,
// under <data>/registry/imports/), and gauges (images, blobs, bytes).

#include <memory>

#include "appliance/service/service_control.h"
#include "services/registry/registry.h"

namespace annex::registry {

std::unique_ptr<service::ServiceControl> NewRegistryControl(std::shared_ptr<Registry> registry);

}  // namespace annex::registry
