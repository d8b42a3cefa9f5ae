#pragma once
// UsageMeter: turns the appliance's cumulative usage counters into
// consecutive usage periods, each holding the deltas since the previous one.
// The baseline lives in memory and starts at zero together with the
// counters (when annexd starts), so a restarted annexd carries nothing over
// and counts nothing twice. Periods are recorded whether or not the control
// plane is reachable; the outbox delivers them later, once.
//
// Thread-safe. One meter serves every agent of a process in turn (annexd
// restarts its agent to re-enroll): each period begins where the previous
// one ended, whichever agent recorded it.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "appliance/core/status.h"
#include "sync/common/usage.h"

namespace annex::sync {

// What the appliance's services have done since the counters started, and
// what they hold now.
struct UsageSample {
  std::map<std::string, UsageCounters> by_service;  // cumulative, e.g. "s3"
  uint64_t bytes_stored = 0;
  uint64_t objects_stored = 0;
  std::map<std::string, std::map<std::string, uint64_t>> gauges;  // now, per service
};

class UsageMeter {
 public:
  // `read` returns the counters now; `start_unix_ms` is when they were zero.
  UsageMeter(std::function<UsageSample()> read, int64_t start_unix_ms);

  // Builds the period from the end of the last recorded one to `now_unix_ms`
  // and hands it to `record`. Only if `record` succeeds does the next period
  // start from here: a period that could not be stored is folded into the
  // next one. A clock that went backwards yields a period of length zero.
  Status RecordPeriod(int64_t now_unix_ms, const std::function<Status(const UsagePeriod&)>& record);

 private:
  std::mutex mu_;
  const std::function<UsageSample()> read_;
  int64_t period_start_;
  std::map<std::string, UsageCounters> baseline_;  // the counters at period_start_
};

}  // namespace annex::sync
