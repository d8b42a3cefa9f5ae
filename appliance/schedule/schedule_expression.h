#pragma once
// ScheduleExpression: an EventBridge schedule expression, parsed once and
// asked for its fire times. Three forms, all in UTC:
//   rate(5 minutes)           every period, counted from the schedule's anchor
//   cron(0 12 * * ? *)        minutes hours day-of-month month day-of-week year
//   at(2026-12-06T10:00:00)   once
// Fire times of cron() and at() fall on whole minutes/seconds as written; a
// rate() keeps the anchor's sub-second part.
//
// Where AWS's documentation is silent this parser is strict:
//   - keywords and rate units are lower case; cron month/day names and the
//     L, W letters are case-insensitive;
//   - exactly one space separates rate's value and unit and each cron field;
//     no other whitespace is accepted;
//   - a rate value has no leading zero and at most 9 digits; cron numbers may
//     be zero-padded (`05`);
//   - ranges run low to high (`22-2` is rejected, not wrapped);
//   - a `/` step is 1 up to the field's span, and is not allowed in
//     day-of-week (AWS lists `/` for every field but that one);
//   - `L`, `LW`, `nW`, `nL` and `n#k` stand alone in their field;
//   - `nW` in a month shorter than n never fires that month;
//   - at() years, like cron years, are 1970-2199.
//
// Thread safety: immutable after Parse; copies share state and may be used
// from any thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::schedule {

using TimePoint = std::chrono::system_clock::time_point;  // same as os::SystemTime

class ScheduleExpression {
 public:
  enum class Kind { kRate, kCron, kAt };

  // Parses `text`. On failure: InvalidArgument, subcode "ValidationException",
  // message "Parameter ScheduleExpression is not valid." (EventBridge's words).
  static Result<ScheduleExpression> Parse(std::string_view text);

  // The first fire time strictly after `after`, or nullopt when there is none
  // (an at() not after `after`, a cron whose years have run out, a time the
  // clock cannot represent). `anchor` is the schedule's start: rate() fires at
  // anchor + k * period for k >= 1; cron() and at() ignore it.
  std::optional<TimePoint> NextAfter(TimePoint after, TimePoint anchor) const;

  const std::string& text() const { return text_; }
  Kind kind() const { return kind_; }
  // rate()'s period (zero for the other kinds).
  std::chrono::minutes rate_period() const { return rate_period_; }

 private:
  struct CronFields;  // the parsed cron() fields; defined in the .cc

  ScheduleExpression(std::string text, Kind kind) : text_(std::move(text)), kind_(kind) {}

  std::string text_;
  Kind kind_;
  std::chrono::minutes rate_period_{0};     // kRate
  TimePoint at_;                            // kAt
  std::shared_ptr<const CronFields> cron_;  // kCron
};

}  // namespace annex::schedule
