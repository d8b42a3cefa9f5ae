#include "appliance/schedule/schedule_expression.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/strings.h"

namespace annex::schedule {
namespace {

using namespace std::chrono_literals;

// "2026-03-04T09:30:00" (UTC) as a TimePoint.
TimePoint T(std::string_view iso) {
  std::optional<TimePoint> t = ParseIso8601(std::string(iso) + ".000Z");
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(TimePoint{});
}

// A fire time as "2026-03-04T09:30:00", or "none".
std::string Show(std::optional<TimePoint> t) { return t ? FormatIso8601(*t).substr(0, 19) : "none"; }

ScheduleExpression MustParse(std::string_view text) {
  Result<ScheduleExpression> e = ScheduleExpression::Parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  return std::move(e).value();
}

// Cron and at() ignore the anchor; any value shows that.
const TimePoint kAnyAnchor = T("2001-01-01T00:00:00");

struct NextCase {
  const char* expression;
  const char* after;
  const char* next;  // "none" when it never fires again
};

void ExpectNext(const NextCase& c) {
  ScheduleExpression e = MustParse(c.expression);
  EXPECT_EQ(Show(e.NextAfter(T(c.after), kAnyAnchor)), c.next) << c.expression << " after " << c.after;
}

// 2026-03-04 is a Wednesday.
TEST(ScheduleExpression, AwsDocumentedCronExamples) {
  const NextCase cases[] = {
      // 10:00 every day; "after" is exclusive.
      {"cron(0 10 * * ? *)", "2026-03-04T09:30:00", "2026-03-04T10:00:00"},
      {"cron(0 10 * * ? *)", "2026-03-04T10:00:00", "2026-03-05T10:00:00"},
      {"cron(0 10 * * ? *)", "2026-03-04T09:59:59", "2026-03-04T10:00:00"},
      // 12:15 every day.
      {"cron(15 12 * * ? *)", "2026-03-04T09:30:00", "2026-03-04T12:15:00"},
      {"cron(15 12 * * ? *)", "2026-03-04T12:15:30", "2026-03-05T12:15:00"},
      // 18:00 Monday to Friday: Friday evening skips to Monday.
      {"cron(0 18 ? * MON-FRI *)", "2026-03-04T09:30:00", "2026-03-04T18:00:00"},
      {"cron(0 18 ? * MON-FRI *)", "2026-03-06T18:00:00", "2026-03-09T18:00:00"},
      // 08:00 on the first of every month.
      {"cron(0 8 1 * ? *)", "2026-03-04T09:30:00", "2026-04-01T08:00:00"},
      // Every 15 minutes.
      {"cron(0/15 * * * ? *)", "2026-03-04T09:30:00", "2026-03-04T09:45:00"},
      {"cron(0/15 * * * ? *)", "2026-03-04T09:31:10", "2026-03-04T09:45:00"},
      {"cron(0/15 * * * ? *)", "2026-03-04T23:50:00", "2026-03-05T00:00:00"},
      // Every 10 minutes Monday to Friday.
      {"cron(0/10 * ? * MON-FRI *)", "2026-03-04T09:35:00", "2026-03-04T09:40:00"},
      {"cron(0/10 * ? * MON-FRI *)", "2026-03-06T23:55:00", "2026-03-09T00:00:00"},
      // Every 5 minutes 08:00-17:55 Monday to Friday.
      {"cron(0/5 8-17 ? * MON-FRI *)", "2026-03-04T07:12:00", "2026-03-04T08:00:00"},
      {"cron(0/5 8-17 ? * MON-FRI *)", "2026-03-04T12:07:00", "2026-03-04T12:10:00"},
      {"cron(0/5 8-17 ? * MON-FRI *)", "2026-03-04T17:55:00", "2026-03-05T08:00:00"},
      {"cron(0/5 8-17 ? * MON-FRI *)", "2026-03-06T17:55:00", "2026-03-09T08:00:00"},
      // 09:00 on the first Monday of each month.
      {"cron(0 9 ? * 2#1 *)", "2026-03-01T00:00:00", "2026-03-02T09:00:00"},
      {"cron(0 9 ? * 2#1 *)", "2026-03-04T09:30:00", "2026-04-06T09:00:00"},
  };
  for (const NextCase& c : cases) ExpectNext(c);
}

TEST(ScheduleExpression, CronFieldForms) {
  const NextCase cases[] = {
      {"cron(0 9,17 * * ? *)", "2026-03-04T09:30:00", "2026-03-04T17:00:00"},
      {"cron(10-30/5 * * * ? *)", "2026-03-04T09:30:00", "2026-03-04T10:10:00"},
      {"cron(*/20 * * * ? *)", "2026-03-04T09:30:00", "2026-03-04T09:40:00"},
      {"cron(0 0 1 1 ? 2030/5)", "2026-03-04T09:30:00", "2030-01-01T00:00:00"},
      {"cron(0 0 1 1 ? 2030/5)", "2030-01-01T00:00:00", "2035-01-01T00:00:00"},
      {"cron(0 12 ? jan-mar,DEC sun *)", "2026-03-29T12:00:00", "2026-12-06T12:00:00"},
      {"cron(00 08 * * ? *)", "2026-03-04T09:30:00", "2026-03-05T08:00:00"},
      {"cron(* * * * ? *)", "2026-03-04T09:30:59", "2026-03-04T09:31:00"},
      {"cron(0 0 ? * 1,7 *)", "2026-03-04T09:30:00", "2026-03-07T00:00:00"},
  };
  for (const NextCase& c : cases) ExpectNext(c);
}

TEST(ScheduleExpression, CronRollsOverMonthsAndYears) {
  const NextCase cases[] = {
      // April has no 31st.
      {"cron(30 23 31 * ? *)", "2026-03-31T23:30:00", "2026-05-31T23:30:00"},
      {"cron(0 0 1 1 ? *)", "2026-03-04T09:30:00", "2027-01-01T00:00:00"},
      {"cron(59 23 31 12 ? *)", "2026-12-31T23:59:00", "2027-12-31T23:59:00"},
      {"cron(0 0 * * ? *)", "2026-12-31T23:59:59", "2027-01-01T00:00:00"},
      // Feb 29 only in leap years; 2100 is not one.
      {"cron(0 0 29 2 ? *)", "2026-03-04T09:30:00", "2028-02-29T00:00:00"},
      {"cron(0 0 29 2 ? *)", "2028-02-29T00:00:00", "2032-02-29T00:00:00"},
      {"cron(0 0 29 2 ? 2096-2199)", "2096-03-01T00:00:00", "2104-02-29T00:00:00"},
      {"cron(0 0 L 2 ? *)", "2027-03-01T00:00:00", "2028-02-29T00:00:00"},
  };
  for (const NextCase& c : cases) ExpectNext(c);
}

TEST(ScheduleExpression, CronLastWeekdayAndNth) {
  const NextCase cases[] = {
      // L in day-of-month: the month's last day.
      {"cron(0 0 L * ? *)", "2026-02-10T00:00:00", "2026-02-28T00:00:00"},
      {"cron(0 0 L * ? *)", "2026-02-28T00:00:00", "2026-03-31T00:00:00"},
      {"cron(0 0 l * ? *)", "2028-02-10T00:00:00", "2028-02-29T00:00:00"},
      // nW: the Monday-Friday nearest day n, never leaving the month.
      {"cron(0 9 3W * ? *)", "2026-04-30T00:00:00", "2026-05-04T09:00:00"},   // Sun 3 -> Mon 4
      {"cron(0 9 15W * ? *)", "2026-08-01T00:00:00", "2026-08-14T09:00:00"},  // Sat 15 -> Fri 14
      {"cron(0 9 15W * ? *)", "2026-11-01T00:00:00", "2026-11-16T09:00:00"},  // Sun 15 -> Mon 16
      {"cron(0 9 1W * ? *)", "2026-07-15T00:00:00", "2026-08-03T09:00:00"},   // Sat 1 -> Mon 3, not Jul 31
      {"cron(0 9 31W * ? *)", "2026-05-01T00:00:00", "2026-05-29T09:00:00"},  // Sun 31 -> Fri 29
      {"cron(0 9 31W * ? *)", "2026-04-01T00:00:00", "2026-05-29T09:00:00"},  // April has no 31st
      {"cron(0 9 4w * ? *)", "2026-03-01T00:00:00", "2026-03-04T09:00:00"},   // already a Wednesday
      // LW: the month's last Monday-Friday.
      {"cron(0 17 LW * ? *)", "2026-05-01T00:00:00", "2026-05-29T17:00:00"},  // Sun 31 -> Fri 29
      {"cron(0 17 LW * ? *)", "2026-10-01T00:00:00", "2026-10-30T17:00:00"},  // Sat 31 -> Fri 30
      {"cron(0 17 LW * ? *)", "2026-03-01T00:00:00", "2026-03-31T17:00:00"},  // Tue 31
      // nL in day-of-week: the month's last such day; L alone is Saturday.
      {"cron(0 12 ? * 5L *)", "2026-03-04T09:30:00", "2026-03-26T12:00:00"},
      {"cron(0 12 ? * 5L *)", "2026-03-26T12:00:00", "2026-04-30T12:00:00"},
      {"cron(0 12 ? * 6L *)", "2026-02-01T00:00:00", "2026-02-27T12:00:00"},
      {"cron(0 12 ? * L *)", "2026-03-04T09:30:00", "2026-03-07T12:00:00"},
      // n#k: the k-th such day; a month without a fifth Sunday is skipped.
      {"cron(0 0 ? * 1#5 *)", "2026-03-04T09:30:00", "2026-03-29T00:00:00"},
      {"cron(0 0 ? * 1#5 *)", "2026-03-29T00:00:00", "2026-05-31T00:00:00"},
      {"cron(0 0 ? * 3#2 *)", "2026-03-04T09:30:00", "2026-03-10T00:00:00"},
      {"cron(0 0 ? * TUE#2 *)", "2026-03-10T00:00:00", "2026-04-14T00:00:00"},
      {"cron(0 0 ? 2 1#5 *)", "2026-03-04T09:30:00", "2032-02-29T00:00:00"},  // next leap February from a Sunday
  };
  for (const NextCase& c : cases) ExpectNext(c);
}

TEST(ScheduleExpression, CronEndsWithItsYears) {
  const NextCase cases[] = {
      {"cron(0 0 1 1 ? 2026)", "2026-01-01T00:00:00", "none"},
      {"cron(0 0 31 12 ? *)", "2199-12-31T00:00:00", "none"},
      {"cron(0 12 * * ? 2020-2025)", "2026-03-04T09:30:00", "none"},
      {"cron(0 12 * * ? 2020-2025)", "2019-06-01T00:00:00", "2020-01-01T12:00:00"},
  };
  for (const NextCase& c : cases) ExpectNext(c);
}

TEST(ScheduleExpression, CronBeforeItsFirstYearStartsIn1970) {
  ScheduleExpression e = MustParse("cron(0 0 1 1 ? *)");
  EXPECT_EQ(Show(e.NextAfter(TimePoint{} - 24h, kAnyAnchor)), "1970-01-01T00:00:00");
}

// Days that never exist must come back as "none" without scanning every
// minute up to 2199 (that would take seconds each; the bound is generous).
TEST(ScheduleExpression, ImpossibleCronAnswersNoneQuickly) {
  const char* impossible[] = {"cron(0 0 30 2 ? *)", "cron(* * 31 4,6,9,11 ? *)", "cron(0 0 ? 2 1#5 2026-2031)"};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    for (const char* text : impossible) {
      EXPECT_FALSE(MustParse(text).NextAfter(T("2026-03-04T09:30:00"), kAnyAnchor).has_value()) << text;
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(ScheduleExpression, CronSuccessiveFires) {
  ScheduleExpression e = MustParse("cron(0/5 8-17 ? * MON-FRI *)");
  std::optional<TimePoint> t = T("2026-03-06T17:50:00");  // a Friday
  std::vector<std::string> fires;
  for (int i = 0; i < 3 && t; ++i) {
    t = e.NextAfter(*t, kAnyAnchor);
    fires.push_back(Show(t));
  }
  EXPECT_EQ(fires, (std::vector<std::string>{"2026-03-06T17:55:00", "2026-03-09T08:00:00", "2026-03-09T08:05:00"}));
}

TEST(ScheduleExpression, RateCountsFromTheAnchor) {
  const TimePoint anchor = T("2026-03-04T09:30:00");
  struct Case {
    const char* expression;
    const char* after;
    const char* next;
  } cases[] = {
      {"rate(5 minutes)", "2026-03-04T09:30:00", "2026-03-04T09:35:00"},
      {"rate(5 minutes)", "2026-03-04T09:35:00", "2026-03-04T09:40:00"},
      {"rate(5 minutes)", "2026-03-04T09:37:12", "2026-03-04T09:40:00"},
      {"rate(5 minutes)", "2026-03-01T00:00:00", "2026-03-04T09:35:00"},  // before the anchor: k = 1
      {"rate(1 minute)", "2026-03-04T09:30:00", "2026-03-04T09:31:00"},
      {"rate(2 hours)", "2026-03-04T12:00:00", "2026-03-04T13:30:00"},
      {"rate(1 hour)", "2026-03-04T23:59:00", "2026-03-05T00:30:00"},
      {"rate(1 day)", "2026-03-04T09:30:00", "2026-03-05T09:30:00"},
      {"rate(3 days)", "2026-12-31T00:00:00", "2027-01-01T09:30:00"},
      // After a long gap: the next multiple of the period, not after + period
      // (8071 minutes = 1153 periods of 7).
      {"rate(7 minutes)", "2026-03-10T00:00:00", "2026-03-10T00:01:00"},
      {"rate(7 minutes)", "2026-03-10T00:01:00", "2026-03-10T00:08:00"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Show(MustParse(c.expression).NextAfter(T(c.after), anchor)), c.next)
        << c.expression << " after " << c.after;
  }
}

TEST(ScheduleExpression, RateKeepsTheAnchorsSubSecondPartAndLeapDays) {
  const TimePoint anchor = T("2028-02-28T12:00:00") + 17s + 250ms;
  ScheduleExpression daily = MustParse("rate(1 day)");
  EXPECT_EQ(daily.NextAfter(anchor, anchor), anchor + 24h);
  EXPECT_EQ(Show(daily.NextAfter(anchor, anchor)), "2028-02-29T12:00:17");
  EXPECT_EQ(daily.NextAfter(anchor + 24h, anchor), anchor + 48h);
}

TEST(ScheduleExpression, RateBeyondTheClockNeverFires) {
  ScheduleExpression e = MustParse("rate(999999999 days)");
  EXPECT_FALSE(e.NextAfter(T("2026-03-04T09:30:00"), T("2026-03-04T09:30:00")).has_value());
}

TEST(ScheduleExpression, AtFiresOnceAndIgnoresTheAnchor) {
  ScheduleExpression e = MustParse("at(2026-12-06T10:00:00)");
  EXPECT_EQ(Show(e.NextAfter(T("2026-03-04T09:30:00"), kAnyAnchor)), "2026-12-06T10:00:00");
  EXPECT_EQ(Show(e.NextAfter(T("2026-12-06T09:59:59"), T("2030-01-01T00:00:00"))), "2026-12-06T10:00:00");
  EXPECT_EQ(Show(e.NextAfter(T("2026-12-06T10:00:00"), kAnyAnchor)), "none");
  EXPECT_EQ(Show(e.NextAfter(T("2027-01-01T00:00:00"), kAnyAnchor)), "none");
  EXPECT_EQ(Show(MustParse("at(2028-02-29T23:59:59)").NextAfter(T("2028-01-01T00:00:00"), kAnyAnchor)),
            "2028-02-29T23:59:59");
}

TEST(ScheduleExpression, KeepsTextAndKind) {
  const struct {
    const char* text;
    ScheduleExpression::Kind kind;
  } cases[] = {
      {"rate(1 minute)", ScheduleExpression::Kind::kRate},
      {"rate(10 days)", ScheduleExpression::Kind::kRate},
      {"cron(0 12 ? * fri#3 *)", ScheduleExpression::Kind::kCron},
      {"cron(0 0 * * ? 1970-2199)", ScheduleExpression::Kind::kCron},
      {"at(1970-01-01T00:00:00)", ScheduleExpression::Kind::kAt},
  };
  for (const auto& c : cases) {
    ScheduleExpression e = MustParse(c.text);
    EXPECT_EQ(e.text(), c.text);
    EXPECT_EQ(e.kind(), c.kind) << c.text;
  }
}

TEST(ScheduleExpression, RejectsInvalidExpressionsAsEventBridgeDoes) {
  // Grouped by what is wrong, several to a line.
  // clang-format off
  const char* invalid[] = {
      // Not an expression at all.
      "", "rate()", "cron()", "at()", "rate", "cron", "every(5 minutes)", "cron 0 12 * * ? *", "()",
      // Trailing or leading garbage, case and spacing.
      "rate(5 minutes) ", " rate(5 minutes)", "rate(5 minutes)x", "rate(5 minutes", "rate(5 minutes))",
      "cron(0 12 * * ? *)x", "cron(0 12 * * ? *)(", "RATE(5 minutes)", "Cron(0 12 * * ? *)",
      // rate(): value and unit.
      "rate(0 minutes)", "rate(1 minutes)", "rate(2 minute)", "rate(5 seconds)", "rate(5 Minutes)",
      "rate(05 minutes)", "rate(-5 minutes)", "rate(+5 minutes)", "rate(1.5 hours)", "rate(5minutes)",
      "rate(5  minutes)", "rate( 5 minutes)", "rate(5 minutes )", "rate(1000000000 minutes)", "rate(1 week)",
      // cron(): the ? rule and field count.
      "cron(0 12 ? * ? *)", "cron(0 12 * * * *)", "cron(0 12 1 * MON *)", "cron(0 12 * * ?)",
      "cron(0 0 12 * * ? *)",
      // cron(): spacing and empty fields or terms.
      "cron(0  12 * * ? *)", "cron( 0 12 * * ? *)", "cron(0 12 * * ? * )", "cron(0\t12 * * ? *)",
      "cron(0,,5 12 * * ? *)", "cron(0, 12 * * ? *)", "cron(0 12 ,1 * ? *)",
      // cron(): out of range.
      "cron(60 12 * * ? *)", "cron(0 24 * * ? *)", "cron(0 0 0 * ? *)", "cron(0 0 32 * ? *)", "cron(0 0 * 0 ? *)",
      "cron(0 0 * 13 ? *)", "cron(0 0 ? * 0 *)", "cron(0 0 ? * 8 *)", "cron(0 0 * * ? 1969)",
      "cron(0 0 * * ? 2200)", "cron(0 0 * * ? 12345)", "cron(-1 0 * * ? *)",
      // cron(): ranges and steps.
      "cron(5-1 * * * ? *)", "cron(0 22-2 * * ? *)", "cron(*/0 * * * ? *)", "cron(0/61 * * * ? *)",
      "cron(0/ * * * ? *)", "cron(/5 * * * ? *)", "cron(1-2-3 * * * ? *)", "cron(0/5/5 * * * ? *)",
      "cron(0 12 ? * MON/2 *)",
      // cron(): wildcards where they are not allowed.
      "cron(? 12 * * ? *)", "cron(0 ? * * ? *)", "cron(0 12 * ? ? *)", "cron(0 12 * * ? ?)", "cron(L 12 * * ? *)",
      "cron(0 12 * L ? *)", "cron(0 12 ? * 3W *)", "cron(0 12 3#2 * ? *)", "cron(0 12 * * ? L)",
      // cron(): L, W and # forms.
      "cron(0 12 L-2 * ? *)", "cron(0 12 L,15 * ? *)", "cron(0 12 W * ? *)", "cron(0 12 0W * ? *)",
      "cron(0 12 32W * ? *)", "cron(0 12 1-5W * ? *)", "cron(0 12 WL * ? *)", "cron(0 12 ? * 3#6 *)",
      "cron(0 12 ? * 3#0 *)", "cron(0 12 ? * 3#1,6#3 *)", "cron(0 12 ? * 8L *)", "cron(0 12 ? * L# *)",
      "cron(0 12 ? * #2 *)", "cron(0 12 ? * 1-3L *)",
      // cron(): names.
      "cron(0 12 ? * FOO *)", "cron(0 12 * JANUARY ? *)", "cron(0 12 * * ? MON)", "cron(JAN 12 * * ? *)",
      // at(): shape and calendar.
      "at(2026-02-29T00:00:00)", "at(2026-12-06T24:00:00)", "at(2026-12-06T10:60:00)", "at(2026-12-06T10:00:60)",
      "at(2026-13-06T10:00:00)", "at(2026-12-00T10:00:00)", "at(2026-12-06 10:00:00)", "at(2026-12-06t10:00:00)",
      "at(2026-12-06T10:00)", "at(2026-12-06T10:00:00Z)", "at(2026-12-06)", "at(1969-12-31T23:59:59)",
      "at(2200-01-01T00:00:00)", "at(+026-12-06T10:00:00)",
  };
  // clang-format on
  for (const char* text : invalid) {
    Result<ScheduleExpression> e = ScheduleExpression::Parse(text);
    ASSERT_FALSE(e.ok()) << "accepted: '" << text << "'";
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(e.status().subcode(), "ValidationException") << text;
    EXPECT_EQ(e.status().message(), "Parameter ScheduleExpression is not valid.") << text;
  }
}

}  // namespace
}  // namespace annex::schedule
