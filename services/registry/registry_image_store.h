#pragma once
// The registry's implementation of the platform's service::ImageStore:
// resolves image references against the registry store and unpacks images
// into shared, read-only root filesystems under <data>/registry/rootfs/
// (image_unpacker.h does the unpacking of each layer).

#include <memory>

#include "appliance/service/image_store.h"
#include "services/registry/registry.h"

namespace annex::registry {

std::unique_ptr<service::ImageStore> NewRegistryImageStore(Registry& registry);

}  // namespace annex::registry
