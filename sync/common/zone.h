#pragma once
// Availability zones as the control plane shows appliances: names, and the
// state that follows from how long an appliance has been silent.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace annex::sync {

// A desired-state command an appliance accepts, as its services advertise
// it: the control plane checks an operator's command against these, so a new
// service needs no change there.
struct CommandSpec {
  std::string kind;     // "CreateBucket"
  std::string service;  // "s3"
  // The arguments: a JSON object naming each (string) argument with an
  // ECMAScript `pattern` its value must match, required unless marked
  // `"optional": true`, e.g.
  // {"bucket": {"pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"}}.
  std::string args_schema_json;
};

// What an appliance offers, as its heartbeats report it.
struct ZoneCapacity {
  uint32_t cpus = 0;
  uint64_t memory_bytes = 0;
  uint64_t disk_bytes = 0;
  uint64_t disk_free_bytes = 0;
  std::vector<std::string> services;
  std::vector<CommandSpec> commands;
};

// EC2's ZoneState values.
enum class ZoneState { kAvailable, kImpaired, kUnavailable };

inline constexpr std::chrono::seconds kHeartbeatInterval{10};
inline constexpr std::chrono::seconds kImpairedAfter{50};
inline constexpr std::chrono::minutes kUnavailableAfter{15};

// available while heartbeats arrive, impaired after 50 s of silence,
// unavailable after 15 minutes (or before the first heartbeat). Only the
// shown state changes: the control plane never touches an appliance's
// workloads because it went quiet.
ZoneState StateAfterSilence(std::chrono::milliseconds silence, bool ever_heard);

std::string_view ZoneStateName(ZoneState state);  // "available", "impaired", "unavailable"

// Site names: 1–32 of [a-z0-9-], starting with a letter or digit, no "--".
bool IsValidSiteName(std::string_view site);

// "<region>-annex-<site>", e.g. us-east-1-annex-lisbon-1.
std::string ZoneName(std::string_view region, std::string_view site);

}  // namespace annex::sync
