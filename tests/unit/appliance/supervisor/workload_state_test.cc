// A workload's record round-trips every field, and records written by an
// older annexd (without the fields added since) still read.

#include "appliance/supervisor/workload_state.h"

#include <gtest/gtest.h>

namespace annex::supervisor {
namespace {

WorkloadState SomeState() {
  WorkloadState s;
  s.id = "ecs-1-0";
  s.spec.argv = {"/usr/bin/crun", "run", "ecs-1-0"};
  s.spec.limits.memory_max_bytes = 512 << 20;
  s.spec.limits.memory_low_bytes = 128 << 20;
  s.spec.limits.pids_max = 4096;
  s.spec.stop_signal = SIGINT;
  s.spec.log = {.account = "123456789012", .group = "/ecs/web", .stream = "ecs/web/1"};
  s.phase = WorkloadPhase::kRunning;
  s.run = 3;
  s.shim_pid = 4242;
  s.state_dir = "/var/annex/supervisor/workloads/ecs-1-0";
  return s;
}

TEST(WorkloadState, RoundTripsTheMemoryReservationAndTheLogDestination) {
  auto decoded = DecodeWorkloadState("ecs-1-0", EncodeWorkloadState(SomeState()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->spec.limits.memory_max_bytes, 512u << 20);
  EXPECT_EQ(decoded->spec.limits.memory_low_bytes, 128u << 20);
  EXPECT_EQ(decoded->spec.log.stream, "ecs/web/1");
  EXPECT_EQ(decoded->spec.stop_signal, SIGINT);
  EXPECT_EQ(decoded->run, 3u);
  EXPECT_EQ(decoded->shim_pid, 4242);
}

TEST(WorkloadState, ARecordFromBeforeReservationsAndStopSignalsReadsAsTheOldDefaults) {
  WorkloadState s = SomeState();
  s.spec.limits.memory_low_bytes = 0;
  std::string record = EncodeWorkloadState(s);
  record.pop_back();  // the stop signal and the reservation, one byte each, were the last fields
  record.pop_back();
  auto decoded = DecodeWorkloadState("ecs-1-0", record);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->spec.limits.memory_low_bytes, 0u);
  EXPECT_EQ(decoded->spec.stop_signal, SIGTERM);
  EXPECT_EQ(decoded->spec.log.group, "/ecs/web");
  record.pop_back();  // cut inside a field: refused, never misread
  EXPECT_EQ(DecodeWorkloadState("ecs-1-0", record).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace annex::supervisor
