#include "services/registry/registry_control.h"

namespace annex::registry {

std::unique_ptr<service::ServiceControl> NewRegistryControl(std::shared_ptr<Registry>) { return nullptr; }

}  // namespace annex::registry
