// main() for every GoogleTest binary: the exit policy of tests/unittest_main.py.
//
// GoogleTest exits 0 when tests skipped, so a machine missing a tool would
// look green while the test never ran. With CI set, a skipped test fails the
// binary after naming what skipped; locally a skip is printed and passes, and
// a binary where everything skipped exits 77, which ctest shows as "Not Run".

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr int kSkipExitCode = 77;

bool InCi() {
  const char* ci = std::getenv("CI");
  if (!ci) return false;
  std::string v(ci);
  return v == "1" || v == "true" || v == "yes";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  if (rc != 0) return rc;
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  int skipped = unit.skipped_test_count();
  if (skipped == 0) return 0;
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const ::testing::TestInfo& test = *suite.GetTestInfo(j);
      if (test.result()->Skipped()) std::fprintf(stderr, "SKIPPED %s.%s\n", suite.name(), test.name());
    }
  }
  if (InCi()) {
    std::fprintf(stderr, "CI is set: %d skipped test(s) fail the run (install the tool each names)\n", skipped);
    return 1;
  }
  return skipped == unit.test_to_run_count() ? kSkipExitCode : 0;
}
