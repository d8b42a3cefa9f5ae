#pragma once
// The registry's implementation of the platform's service::ImageStore:
// resolves image references against the registry store and unpacks images
// into shared, read-only root filesystems under <data>/registry/rootfs/
// (image_unpacker.h does the unpacking of each layer).

#include <chrono>
#include <memory>

#include "appliance/service/image_store.h"
#include "services/registry/registry.h"

namespace annex::registry {

class RegistryImageStore : public service::ImageStore {
 public:
  // Removes the root filesystems no workload holds and none prepared
  // within `unused_for`; returns how many went. Run by the registry's
  // collector schedule.
  virtual Result<uint64_t> CollectUnused(std::chrono::seconds unused_for) = 0;
};

std::unique_ptr<RegistryImageStore> NewRegistryImageStore(Registry& registry);

}  // namespace annex::registry
