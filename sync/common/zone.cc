#include "sync/common/zone.h"

namespace annex::sync {

ZoneState StateAfterSilence(std::chrono::milliseconds silence, bool ever_heard) {
  if (!ever_heard || silence >= kUnavailableAfter) return ZoneState::kUnavailable;
  if (silence >= kImpairedAfter) return ZoneState::kImpaired;
  return ZoneState::kAvailable;
}

std::string_view ZoneStateName(ZoneState state) {
  switch (state) {
    case ZoneState::kAvailable:
      return "available";
    case ZoneState::kImpaired:
      return "impaired";
    case ZoneState::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

bool IsValidSiteName(std::string_view site) {
  if (site.empty() || site.size() > 32 || site.front() == '-' || site.back() == '-') return false;
  if (site.find("--") != std::string_view::npos) return false;
  for (char c : site) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string ZoneName(std::string_view region, std::string_view site) {
  return std::string(region) + "-annex-" + std::string(site);
}

}  // namespace annex::sync
