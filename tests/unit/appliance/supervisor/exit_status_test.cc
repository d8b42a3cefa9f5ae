// How an ended run is described in logs and to owners.

#include "appliance/supervisor/exit_status.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace annex::supervisor {
namespace {

TEST(ExitStatusTest, DescribesACodeOrASignalByName) {
  EXPECT_EQ((ExitStatus{true, 3, 0}).Describe(), "exit code 3");
  EXPECT_EQ((ExitStatus{false, 0, SIGKILL}).Describe(), "killed by signal 9 (SIGKILL)");
}

}  // namespace
}  // namespace annex::supervisor
