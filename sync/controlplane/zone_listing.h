#pragma once
// The zones the operator API shows: every zone in the registry plus every
// site that has not enrolled yet, shown as an unavailable zone that never
// sent a heartbeat (enrolled_unix_ms == 0), so an operator sees a site as a
// zone from the moment it is created.
//
// Thread safety: as the Registry (thread-safe).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "sync/controlplane/registry.h"

namespace annex::sync {

// Every zone, by name.
Result<std::vector<ZoneStatus>> ListAllZones(const Registry& registry, int64_t now_unix_ms);

// The zone called `zone`, enrolled or not; nullopt when no site has that zone name.
Result<std::optional<ZoneStatus>> FindAnyZone(const Registry& registry, std::string_view zone, int64_t now_unix_ms);

}  // namespace annex::sync
