#include "sync/controlplane/zone_listing.h"

#include <algorithm>
#include <set>
#include <string>

namespace annex::sync {
namespace {

ZoneStatus NotEnrolled(const Site& site) {
  ZoneStatus z;
  z.zone = site.zone;
  z.site = site.name;
  z.state = ZoneState::kUnavailable;
  return z;
}

}  // namespace

Result<std::vector<ZoneStatus>> ListAllZones(const Registry& registry, int64_t now_unix_ms) {
  ANNEX_ASSIGN_OR_RETURN(std::vector<ZoneStatus> zones, registry.ListZones(now_unix_ms));
  ANNEX_ASSIGN_OR_RETURN(std::vector<Site> sites, registry.ListSites());
  std::set<std::string, std::less<>> known;
  for (const ZoneStatus& z : zones) known.insert(z.zone);
  for (const Site& site : sites) {
    if (!known.contains(site.zone)) zones.push_back(NotEnrolled(site));
  }
  std::sort(zones.begin(), zones.end(), [](const ZoneStatus& a, const ZoneStatus& b) { return a.zone < b.zone; });
  return zones;
}

Result<std::optional<ZoneStatus>> FindAnyZone(const Registry& registry, std::string_view zone, int64_t now_unix_ms) {
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneStatus> found, registry.GetZone(zone, now_unix_ms));
  if (found) return found;
  ANNEX_ASSIGN_OR_RETURN(std::vector<Site> sites, registry.ListSites());
  for (const Site& site : sites) {
    if (site.zone == zone) return std::optional<ZoneStatus>(NotEnrolled(site));
  }
  return std::optional<ZoneStatus>();
}

}  // namespace annex::sync
