#pragma once
// Appliance events: what the operator should know about an appliance
// ("agent-started", "certificate-renewed", "enrolled", "re-enrolled",
// "certificate-expired", "disk-low"), recorded by its agent and kept by the
// control plane (EventRecord in sync.proto).

#include <cstdint>
#include <string>
#include <string_view>

namespace annex::sync {

inline constexpr size_t kMaxEventKindBytes = 64;
inline constexpr size_t kMaxEventMessageBytes = 4096;

struct ApplianceEvent {
  uint64_t seq = 0;  // the outbox record that carried it (control plane side)
  int64_t unix_ms = 0;
  std::string severity;  // "info", "warning", "error"
  std::string kind;
  std::string message;
};

inline bool IsEventSeverity(std::string_view s) { return s == "info" || s == "warning" || s == "error"; }

// A kind is 1-64 of [a-z0-9-], e.g. "disk-low".
inline bool IsEventKind(std::string_view kind) {
  if (kind.empty() || kind.size() > kMaxEventKindBytes) return false;
  for (char c : kind) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace annex::sync
