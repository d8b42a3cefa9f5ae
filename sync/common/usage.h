#pragma once
// Usage: what an appliance's services did during one period, as the agent
// records it and the control plane keeps it (UsageRecord in sync.proto).

#include <cstdint>
#include <map>
#include <string>

namespace annex::sync {

struct UsageCounters {
  uint64_t requests = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

struct UsagePeriod {
  int64_t start_unix_ms = 0;
  int64_t end_unix_ms = 0;
  UsageCounters total;                              // during the period, every service together
  std::map<std::string, UsageCounters> by_service;  // the same, per service ("s3", "iam")
  uint64_t bytes_stored = 0;                        // at the period's end
  uint64_t objects_stored = 0;
  // Each service's named gauges at the period's end ("s3" → "objects_stored"
  // → 12): what a service holds, in its own terms; a new service reports
  // without any change to the record or the control plane.
  std::map<std::string, std::map<std::string, uint64_t>> gauges;
};

}  // namespace annex::sync
