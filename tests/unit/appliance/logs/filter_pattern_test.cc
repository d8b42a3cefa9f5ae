// FilterPattern: CloudWatch Logs filter syntax, table-driven.

#include "appliance/logs/filter_pattern.h"

#include <gtest/gtest.h>

namespace annex::logs {
namespace {

struct Case {
  const char* pattern;
  const char* message;
  bool matches;
};

class FilterPatternMatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(FilterPatternMatchTest, Matches) {
  const Case& c = GetParam();
  auto p = FilterPattern::Parse(c.pattern);
  ASSERT_TRUE(p.ok()) << c.pattern << ": " << p.status().ToString();
  EXPECT_EQ(p->Matches(c.message), c.matches) << "pattern " << c.pattern << " message " << c.message;
}

INSTANTIATE_TEST_SUITE_P(
    Terms, FilterPatternMatchTest,
    ::testing::Values(Case{"", "anything", true}, Case{"ERROR", "an ERROR here", true},
                      Case{"ERROR", "an error here", false},  // case-sensitive
                      Case{"ERROR Exception", "ERROR: NullPointerException", true},
                      Case{"ERROR Exception", "ERROR: timeout", false},
                      Case{"\"request failed\"", "the request failed twice", true},
                      Case{"\"request failed\"", "request was failed", false},
                      Case{"ERROR -DEBUG", "ERROR in prod", true}, Case{"ERROR -DEBUG", "DEBUG ERROR", false},
                      Case{"?ERROR ?WARN", "WARN disk", true}, Case{"?ERROR ?WARN", "INFO ok", false},
                      Case{"-\"health check\"", "GET /healthz", true},
                      Case{"-\"health check\"", "a health check", false}));

INSTANTIATE_TEST_SUITE_P(
    Json, FilterPatternMatchTest,
    ::testing::Values(Case{"{ $.level = \"error\" }", R"({"level":"error","msg":"x"})", true},
                      Case{"{ $.level = \"error\" }", R"({"level":"info"})", false},
                      Case{"{ $.level = error }", R"({"level":"error"})", true},
                      Case{"{ $.level = \"err*\" }", R"({"level":"error"})", true},
                      Case{"{ $.level != \"error\" }", R"({"level":"info"})", true},
                      Case{"{ $.level = \"error\" }", "level=error (not JSON)", false},
                      Case{"{ $.latency > 100 }", R"({"latency":150})", true},
                      Case{"{ $.latency > 100 }", R"({"latency":100})", false},
                      Case{"{ $.latency >= 100 }", R"({"latency":100.0})", true},
                      Case{"{ $.latency < 100 }", R"({"latency":"50"})", false},  // a string is no number
                      Case{"{ $.latency = 100 }", R"({"other":100})", false},
                      Case{"{ $.a.b[1].c = 5 }", R"({"a":{"b":[{"c":1},{"c":5}]}})", true},
                      Case{"{ $.ok IS TRUE }", R"({"ok":true})", true},
                      Case{"{ $.ok IS FALSE }", R"({"ok":true})", false},
                      Case{"{ $.x IS NULL }", R"({"x":null})", true},
                      Case{"{ $.x NOT EXISTS }", R"({"y":1})", true},
                      Case{"{ $.x NOT EXISTS }", R"({"x":1})", false},
                      Case{"{ $.level = \"error\" && $.latency > 100 }", R"({"level":"error","latency":200})", true},
                      Case{"{ $.level = \"error\" && $.latency > 100 }", R"({"level":"error","latency":20})", false},
                      Case{"{ $.level = \"error\" || $.latency > 100 }", R"({"level":"info","latency":200})", true},
                      Case{"{ ($.a = 1 || $.b = 2) && $.c = 3 }", R"({"b":2,"c":3})", true},
                      Case{"{ ($.a = 1 || $.b = 2) && $.c = 3 }", R"({"b":2,"c":4})", false}));

INSTANTIATE_TEST_SUITE_P(
    SpaceDelimited, FilterPatternMatchTest,
    ::testing::Values(
        Case{"[ip, user, status, bytes]", "10.0.0.1 alice 200 512", true},
        Case{"[ip, user, status, bytes]", "10.0.0.1 alice 200", false},
        Case{"[ip, user, status = 5*, bytes]", "10.0.0.1 alice 503 512", true},
        Case{"[ip, user, status = 5*, bytes]", "10.0.0.1 alice 200 512", false},
        Case{"[..., bytes > 1000]", "a b c 2048", true}, Case{"[..., bytes > 1000]", "a b c 20", false},
        Case{"[ip, ..., status = 404]", R"(10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 404)", true}));

TEST(FilterPatternTest, RefusesWhatCloudWatchRefuses) {
  for (const char* bad : {"{ $.level = }", "{ level = 1 }", "{ $.a = 1 ", "{ $.a > abc }", "\"unterminated",
                          "[a, b = ]", "{ $.a = 1 && }", "{ ($.a = 1 }"}) {
    EXPECT_FALSE(FilterPattern::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace annex::logs
