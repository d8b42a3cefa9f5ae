#pragma once
// Scheduler: recurring and one-off work for the platform and its services
// (reconcilers, backups, lifecycle rules, garbage collection), driven by
// EventBridge schedule expressions (schedule_expression.h).
//
// Schedules persist in their own LMDB environment. Each names a target, a
// handler its owner registers at startup, and carries an opaque payload.
// Firing is at least once: the handler runs, then the schedule's last and
// next fire times are committed; a crash in between runs it again after the
// restart, so handlers must be idempotent. A gap (annexd down, the machine
// off, a handler slower than the period) runs a schedule once, for the
// latest fire time it missed, never once per missed period; Firing says how
// many were skipped.
//
// Time comes from the injectable clock. The background thread re-reads it at
// least once a second, so a ManualClock moved by a test (or a wall clock set
// by NTP) is noticed; tests that want determinism call RunDue() themselves.
//
// Thread-safe. Handlers run on the scheduler's thread (or the caller of
// RunDue), one at a time: keep them short or hand the work to an executor.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/core/wake_loop.h"
#include "appliance/os/clock.h"
#include "appliance/schedule/schedule_expression.h"
#include "appliance/store/lmdb_env.h"

namespace annex::schedule {

struct ScheduleSpec {
  std::string name;        // unique, e.g. "s3/lifecycle"; 1-256 of [A-Za-z0-9._/-]
  std::string expression;  // rate(...), cron(...) or at(...)
  std::string target;      // a registered handler
  std::string payload;     // handed to the handler as is
};

struct ScheduleState {
  ScheduleSpec spec;
  TimePoint anchor;                     // creation (or last change of expression): rate() counts from here
  std::optional<TimePoint> last_fired;  // the fire time the last run was for
  std::optional<TimePoint> next_fire;   // none: it will not fire again (an at() that ran)
};

struct Firing {
  std::string name;
  std::string payload;
  TimePoint scheduled;  // the fire time this run is for: the latest one due
  uint64_t skipped = 0;  // earlier fire times that fell in the same gap
};

class Scheduler {
 public:
  using Handler = std::function<Status(const Firing&)>;

  // Opens (creating) the schedules stored in directory `dir`.
  static Result<std::unique_ptr<Scheduler>> Open(const std::string& dir, os::Clock& clock);
  ~Scheduler();

  // Handlers by target name; register every target before Start().
  void RegisterTarget(const std::string& target, Handler handler);

  // Creates or replaces a schedule. InvalidArgument (subcode
  // ValidationException) for a bad name or expression, NotFound for an
  // unregistered target. Replacing with the same expression keeps the
  // schedule's anchor and fire times; a new expression starts afresh.
  Status Put(const ScheduleSpec& spec);
  // NotFound if there is no such schedule.
  Status Delete(std::string_view name);
  Result<std::optional<ScheduleState>> Get(std::string_view name) const;
  // Schedules whose name starts with `prefix`, by name.
  Result<std::vector<ScheduleState>> List(std::string_view prefix = {}) const;

  // Runs every schedule due at the clock's time, once each; returns how many ran.
  Result<size_t> RunDue();

  // A thread that calls RunDue whenever a schedule is due; Stop() joins it.
  void Start();
  void Stop();

 private:
  Scheduler(std::unique_ptr<store::LmdbEnv> env, store::Table table, os::Clock& clock);
  // The earliest next fire time, to know how long to sleep.
  std::optional<TimePoint> EarliestNextFire() const;
  Status Run(const ScheduleState& due, uint64_t generation, TimePoint now);

  std::unique_ptr<store::LmdbEnv> env_;
  store::Table table_;
  os::Clock& clock_;

  std::mutex handlers_mu_;
  std::map<std::string, Handler, std::less<>> handlers_;

  std::mutex run_mu_;  // one RunDue at a time

  WakeLoop loop_;  // woken by Put: the earliest fire time may have moved
};

}  // namespace annex::schedule
