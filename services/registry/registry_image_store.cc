#include "services/registry/registry_image_store.h"

namespace annex::registry {

std::unique_ptr<service::ImageStore> NewRegistryImageStore(Registry&) { return nullptr; }

}  // namespace annex::registry
