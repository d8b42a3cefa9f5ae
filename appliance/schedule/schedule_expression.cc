#include "appliance/schedule/schedule_expression.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <cstdint>
#include <span>
#include <vector>

#include "appliance/core/strings.h"

namespace annex::schedule {
namespace {

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;

Status Invalid() {
  return Status(StatusCode::kInvalidArgument, "Parameter ScheduleExpression is not valid.", "ValidationException");
}

// What one cron field accepts.
struct FieldSpec {
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] stands for min + i
  bool allows_step;
};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kMinutes{0, 59, {}, true};
constexpr FieldSpec kHours{0, 23, {}, true};
constexpr FieldSpec kDaysOfMonth{1, 31, {}, true};
constexpr FieldSpec kMonths{1, 12, kMonthNames, true};
constexpr FieldSpec kDaysOfWeek{1, 7, kDayNames, false};
constexpr FieldSpec kYears{kMinYear, kMaxYear, {}, true};
constexpr FieldSpec kNth{1, 5, {}, false};  // the k of `n#k`: no month has a sixth Tuesday

// The values one cron field allows, as bits counted from the field's minimum.
class ValueSet {
 public:
  explicit ValueSet(int min = 0) : min_(min) {}
  void Add(int v) { bits_.set(v - min_); }
  bool Has(int v) const { return v >= min_ && v - min_ < kSpan && bits_.test(v - min_); }
  // The smallest allowed value >= v.
  std::optional<int> NextFrom(int v) const {
    for (int i = std::max(v - min_, 0); i < kSpan; ++i) {
      if (bits_.test(i)) return min_ + i;
    }
    return std::nullopt;
  }

 private:
  static constexpr int kSpan = kMaxYear - kMinYear + 1;  // the widest field
  int min_;
  std::bitset<kSpan> bits_;
};

// A number in the field's range or, for months and days of the week, a name
// (the cron text is upper-cased before parsing). Up to 4 digits, zero-padding allowed.
std::optional<int> ParseValue(std::string_view s, const FieldSpec& f) {
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (s == f.names[i]) return f.min + static_cast<int>(i);
  }
  if (s.size() > 4) return std::nullopt;
  const std::optional<uint64_t> n = ParseUint(s);
  if (!n) return std::nullopt;
  const int v = static_cast<int>(*n);
  if (v < f.min || v > f.max) return std::nullopt;
  return v;
}

// Adds one comma-separated term: `*`, `v` or `a-b`, each optionally with
// `/step`; `v/step` runs from v to the field's maximum.
bool AddTerm(std::string_view term, const FieldSpec& f, ValueSet& set) {
  std::optional<int> step = 1;
  const size_t slash = term.find('/');
  const bool stepped = slash != std::string_view::npos;
  if (stepped) {
    if (!f.allows_step) return false;
    step = ParseValue(term.substr(slash + 1), FieldSpec{1, f.max - f.min + 1, {}, false});
    term = term.substr(0, slash);
  }
  std::optional<int> low, high;
  if (term == "*") {
    low = f.min;
    high = f.max;
  } else if (const size_t dash = term.find('-'); dash != std::string_view::npos) {
    low = ParseValue(term.substr(0, dash), f);
    high = ParseValue(term.substr(dash + 1), f);
  } else {
    low = ParseValue(term, f);
    high = stepped ? std::optional<int>(f.max) : low;
  }
  if (!step || !low || !high || *low > *high) return false;
  for (int v = *low; v <= *high; v += *step) set.Add(v);
  return true;
}

std::optional<ValueSet> ParseList(std::string_view field, const FieldSpec& f) {
  ValueSet set(f.min);
  for (std::string_view term : Split(field, ',')) {
    if (!AddTerm(term, f, set)) return std::nullopt;
  }
  return set;
}

// The Monday-Friday nearest `day` (whose weekday is `weekday`, 1 = SUN). AWS
// says only "closest weekday"; like Quartz, this never leaves the month, so a
// Saturday 1st moves to Monday 3rd and a Sunday 31st to Friday 29th.
int NearestWorkday(int day, int weekday, int last_day) {
  if (weekday == 7) return day == 1 ? 3 : day - 1;               // Saturday
  if (weekday == 1) return day == last_day ? day - 2 : day + 1;  // Sunday
  return day;
}

// The days of a month the expression fires on: from the day-of-month field, or
// from the day-of-week field when day-of-month is `?` (exactly one of them is).
struct DayRule {
  enum class Kind {
    kDaysOfMonth,     // `1,15`, `*`, `1-10/3`: `values` holds days 1-31
    kLastDay,         // `L`
    kLastWorkday,     // `LW`: the month's last Monday-Friday
    kNearestWorkday,  // `3W`: the Monday-Friday nearest day `day`
    kDaysOfWeek,      // `MON-FRI`, `L` (= SAT): `values` holds 1 (SUN) - 7 (SAT)
    kLastWeekday,     // `5L`: the month's last weekday `day` (here Thursday)
    kNthWeekday,      // `3#2`: the month's `nth` weekday `day` (here the second Tuesday)
  };
  Kind kind = Kind::kDaysOfMonth;
  ValueSet values;
  int day = 0;
  int nth = 0;

  // Bit d is set when day d of the month fires.
  std::bitset<32> DaysIn(int year, int month) const {
    const std::chrono::year_month ym{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month))};
    const int last = static_cast<int>(static_cast<unsigned>((ym / std::chrono::last).day()));
    const int first_weekday = static_cast<int>(std::chrono::weekday(std::chrono::sys_days(ym / 1)).c_encoding());
    auto weekday_of = [&](int d) { return (first_weekday + d - 1) % 7 + 1; };  // 1 = SUN, as cron counts
    std::bitset<32> days;
    switch (kind) {
      case Kind::kDaysOfMonth:
      case Kind::kDaysOfWeek:
        for (int d = 1; d <= last; ++d) {
          if (values.Has(kind == Kind::kDaysOfMonth ? d : weekday_of(d))) days.set(d);
        }
        break;
      case Kind::kLastDay:
        days.set(last);
        break;
      case Kind::kLastWorkday:
        days.set(NearestWorkday(last, weekday_of(last), last));
        break;
      case Kind::kNearestWorkday:
        if (day <= last) days.set(NearestWorkday(day, weekday_of(day), last));
        break;
      case Kind::kLastWeekday:
        days.set(last - (weekday_of(last) - day + 7) % 7);
        break;
      case Kind::kNthWeekday:
        if (const int d = 1 + (day - weekday_of(1) + 7) % 7 + 7 * (nth - 1); d <= last) days.set(d);
        break;
    }
    return days;
  }
};

std::optional<DayRule> ParseDayOfMonth(std::string_view field) {
  DayRule rule;
  if (field == "L") {
    rule.kind = DayRule::Kind::kLastDay;
  } else if (field == "LW") {
    rule.kind = DayRule::Kind::kLastWorkday;
  } else if (field.size() > 1 && field.back() == 'W') {
    const std::optional<int> day = ParseValue(field.substr(0, field.size() - 1), kDaysOfMonth);
    if (!day) return std::nullopt;
    rule.kind = DayRule::Kind::kNearestWorkday;
    rule.day = *day;
  } else {
    std::optional<ValueSet> days = ParseList(field, kDaysOfMonth);
    if (!days) return std::nullopt;
    rule.values = *days;
  }
  return rule;
}

std::optional<DayRule> ParseDayOfWeek(std::string_view field) {
  DayRule rule;
  if (const size_t hash = field.find('#'); hash != std::string_view::npos) {
    const std::optional<int> weekday = ParseValue(field.substr(0, hash), kDaysOfWeek);
    const std::optional<int> nth = ParseValue(field.substr(hash + 1), kNth);
    if (!weekday || !nth) return std::nullopt;
    rule.kind = DayRule::Kind::kNthWeekday;
    rule.day = *weekday;
    rule.nth = *nth;
  } else if (field.size() > 1 && field.back() == 'L') {
    const std::optional<int> weekday = ParseValue(field.substr(0, field.size() - 1), kDaysOfWeek);
    if (!weekday) return std::nullopt;
    rule.kind = DayRule::Kind::kLastWeekday;
    rule.day = *weekday;
  } else {
    // `L` alone is the last day of the week, Saturday.
    std::optional<ValueSet> weekdays = ParseList(field == "L" ? "7" : field, kDaysOfWeek);
    if (!weekdays) return std::nullopt;
    rule.kind = DayRule::Kind::kDaysOfWeek;
    rule.values = *weekdays;
  }
  return rule;
}

std::optional<int> NextDay(const std::bitset<32>& days, int from) {
  for (int d = from; d < 32; ++d) {
    if (days.test(d)) return d;
  }
  return std::nullopt;
}

// rate(value unit): value has no leading zero and at most 9 digits; the unit is
// singular exactly when value is 1.
std::optional<std::chrono::minutes> ParseRate(std::string_view body) {
  struct Unit {
    std::string_view singular, plural;
    std::chrono::minutes length;
  };
  static constexpr Unit kUnits[] = {{"minute", "minutes", std::chrono::minutes(1)},
                                    {"hour", "hours", std::chrono::hours(1)},
                                    {"day", "days", std::chrono::days(1)}};
  const size_t space = body.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view value = body.substr(0, space);
  const std::string_view unit = body.substr(space + 1);
  if (value.empty() || value.size() > 9 || value[0] == '0') return std::nullopt;
  const std::optional<uint64_t> n = ParseUint(value);
  if (!n) return std::nullopt;
  for (const Unit& u : kUnits) {
    if (unit == (*n == 1 ? u.singular : u.plural)) return u.length * static_cast<std::chrono::minutes::rep>(*n);
  }
  return std::nullopt;
}

// at(yyyy-mm-ddThh:mm:ss), UTC.
std::optional<TimePoint> ParseAt(std::string_view body) {
  using namespace std::chrono;
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (body.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(body[i])) != 0 : body[i] == kShape[i];
    if (!ok) return std::nullopt;
  }
  auto number = [&](size_t pos, size_t len) { return static_cast<int>(*ParseUint(body.substr(pos, len))); };
  const year_month_day date{year(number(0, 4)), month(static_cast<unsigned>(number(5, 2))),
                            day(static_cast<unsigned>(number(8, 2)))};
  const int h = number(11, 2), m = number(14, 2), s = number(17, 2);
  if (!date.ok() || date.year() < year(kMinYear) || date.year() > year(kMaxYear) || h > 23 || m > 59 || s > 59) {
    return std::nullopt;
  }
  return sys_days(date) + hours(h) + minutes(m) + seconds(s);
}

// anchor + k * period for the smallest k >= 1 that lands after `after`, or
// nullopt when that time overflows the clock.
std::optional<TimePoint> NextRateFire(TimePoint after, TimePoint anchor, std::chrono::minutes period) {
  using Rep = TimePoint::rep;
  constexpr Rep kTicksPerMinute = std::chrono::duration_cast<TimePoint::duration>(std::chrono::minutes(1)).count();
  const Rep start = anchor.time_since_epoch().count();
  Rep step = 0, elapsed = 0, offset = 0, fire = 0;
  if (__builtin_mul_overflow(period.count(), kTicksPerMinute, &step)) return std::nullopt;
  if (after > anchor && __builtin_sub_overflow(after.time_since_epoch().count(), start, &elapsed)) {
    return std::nullopt;
  }
  if (__builtin_mul_overflow(elapsed / step + 1, step, &offset) || __builtin_add_overflow(start, offset, &fire)) {
    return std::nullopt;
  }
  return TimePoint(TimePoint::duration(fire));
}

// A calendar position at minute resolution. While searching, a field may run
// one past its range (month 13, day 32, hour 24): the next lookup of that
// field then finds nothing and carries into the field above.
struct Cursor {
  int year, month, day, hour, minute;
};

Cursor FirstMinuteAfter(TimePoint after) {
  using namespace std::chrono;
  const sys_time<minutes> start = floor<minutes>(after) + minutes(1);
  const sys_days date = floor<days>(start);
  const year_month_day ymd(date);
  const minutes in_day = start - date;
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(in_day / hours(1)),
          static_cast<int>(in_day % hours(1) / minutes(1))};
}

TimePoint ToTimePoint(const Cursor& c) {
  using namespace std::chrono;
  const year_month_day date{year(c.year), month(static_cast<unsigned>(c.month)), day(static_cast<unsigned>(c.day))};
  return sys_days(date) + hours(c.hour) + minutes(c.minute);
}

}  // namespace

struct ScheduleExpression::CronFields {
  ValueSet minutes, hours, months, years;
  DayRule days;

  static std::optional<CronFields> Parse(std::string_view body) {
    std::string upper(body);  // month/day names and L, W are case-insensitive
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    const std::vector<std::string_view> f = Split(upper, ' ');
    if (f.size() != 6) return std::nullopt;
    // Exactly one of day-of-month and day-of-week is `?`.
    if ((f[2] == "?") == (f[4] == "?")) return std::nullopt;
    std::optional<ValueSet> minutes = ParseList(f[0], kMinutes);
    std::optional<ValueSet> hours = ParseList(f[1], kHours);
    std::optional<DayRule> days = f[2] == "?" ? ParseDayOfWeek(f[4]) : ParseDayOfMonth(f[2]);
    std::optional<ValueSet> months = ParseList(f[3], kMonths);
    std::optional<ValueSet> years = ParseList(f[5], kYears);
    if (!minutes || !hours || !days || !months || !years) return std::nullopt;
    return CronFields{*minutes, *hours, *months, *years, *days};
  }

  // Walks the calendar field by field, largest first: each pass either returns
  // or moves the cursor to the next candidate of one field (resetting the
  // smaller ones), so the search is bounded by the year range, never a
  // minute-by-minute scan.
  std::optional<TimePoint> NextAfter(TimePoint after) const {
    Cursor c = FirstMinuteAfter(after);
    while (true) {
      const std::optional<int> year = years.NextFrom(c.year);
      if (!year) return std::nullopt;
      if (*year != c.year) c = {*year, 1, 1, 0, 0};
      const std::optional<int> month = months.NextFrom(c.month);
      if (!month) {
        c = {c.year + 1, 1, 1, 0, 0};
        continue;
      }
      if (*month != c.month) c = {c.year, *month, 1, 0, 0};
      const std::optional<int> day = NextDay(days.DaysIn(c.year, c.month), c.day);
      if (!day) {
        c = {c.year, c.month + 1, 1, 0, 0};
        continue;
      }
      if (*day != c.day) c = {c.year, c.month, *day, 0, 0};
      const std::optional<int> hour = hours.NextFrom(c.hour);
      if (!hour) {
        c = {c.year, c.month, c.day + 1, 0, 0};
        continue;
      }
      if (*hour != c.hour) c = {c.year, c.month, c.day, *hour, 0};
      const std::optional<int> minute = minutes.NextFrom(c.minute);
      if (!minute) {
        c = {c.year, c.month, c.day, c.hour + 1, 0};
        continue;
      }
      c.minute = *minute;
      return ToTimePoint(c);
    }
  }
};

Result<ScheduleExpression> ScheduleExpression::Parse(std::string_view text) {
  const size_t open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')') return Invalid();
  const std::string_view keyword = text.substr(0, open);
  const std::string_view body = text.substr(open + 1, text.size() - open - 2);
  if (keyword == "rate") {
    const std::optional<std::chrono::minutes> period = ParseRate(body);
    if (!period) return Invalid();
    ScheduleExpression e(std::string(text), Kind::kRate);
    e.rate_period_ = *period;
    return e;
  }
  if (keyword == "cron") {
    std::optional<CronFields> fields = CronFields::Parse(body);
    if (!fields) return Invalid();
    ScheduleExpression e(std::string(text), Kind::kCron);
    e.cron_ = std::make_shared<const CronFields>(std::move(*fields));
    return e;
  }
  if (keyword == "at") {
    const std::optional<TimePoint> at = ParseAt(body);
    if (!at) return Invalid();
    ScheduleExpression e(std::string(text), Kind::kAt);
    e.at_ = *at;
    return e;
  }
  return Invalid();
}

std::optional<TimePoint> ScheduleExpression::NextAfter(TimePoint after, TimePoint anchor) const {
  switch (kind_) {
    case Kind::kRate:
      return NextRateFire(after, anchor, rate_period_);
    case Kind::kCron:
      return cron_->NextAfter(after);
    case Kind::kAt:
      return at_ > after ? std::optional<TimePoint>(at_) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace annex::schedule
