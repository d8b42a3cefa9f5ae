// The durable scheduler on a ManualClock: fires on time, a gap runs once,
// schedules and their fire times survive a restart, bad input is refused.

#include "appliance/schedule/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/unit/testing/temp_dir.h"

namespace annex::schedule {
namespace {

using namespace std::chrono_literals;

// 2026-03-01T00:00:00Z, a Sunday.
const TimePoint kStart = TimePoint(std::chrono::seconds(1772323200));

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto s = Scheduler::Open(dir_.path() + "/schedules", clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scheduler_ = std::move(*s);
    scheduler_->RegisterTarget("record", [this](const Firing& f) {
      std::lock_guard lock(mu_);
      fired_.push_back(f);
      return Status::OK();
    });
  }

  size_t RunDue() {
    auto ran = scheduler_->RunDue();
    EXPECT_TRUE(ran.ok()) << ran.status().ToString();
    return ran.ok() ? *ran : 0;
  }

  std::vector<Firing> Fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

  annex::testing::TempDir dir_;
  os::ManualClock clock_{kStart};
  std::unique_ptr<Scheduler> scheduler_;
  std::mutex mu_;
  std::vector<Firing> fired_;
};

TEST_F(SchedulerTest, RateFiresEveryPeriodFromItsCreation) {
  ASSERT_TRUE(scheduler_->Put({"gc/blobs", "rate(5 minutes)", "record", "p"}).ok());
  EXPECT_EQ(RunDue(), 0u);
  clock_.Advance(4min + 59s);
  EXPECT_EQ(RunDue(), 0u);
  clock_.Advance(1s);
  EXPECT_EQ(RunDue(), 1u);
  EXPECT_EQ(RunDue(), 0u) << "once per fire time";
  ASSERT_EQ(Fired().size(), 1u);
  EXPECT_EQ(Fired()[0].name, "gc/blobs");
  EXPECT_EQ(Fired()[0].payload, "p");
  EXPECT_EQ(Fired()[0].scheduled, kStart + 5min);
  EXPECT_EQ(Fired()[0].skipped, 0u);
  auto state = scheduler_->Get("gc/blobs");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->last_fired, kStart + 5min);
  EXPECT_EQ((*state)->next_fire, kStart + 10min);
}

TEST_F(SchedulerTest, AGapRunsOnceForTheLatestMissedFire) {
  ASSERT_TRUE(scheduler_->Put({"backup", "rate(5 minutes)", "record", ""}).ok());
  clock_.Advance(1h + 2min);
  EXPECT_EQ(RunDue(), 1u);
  EXPECT_EQ(RunDue(), 0u);
  ASSERT_EQ(Fired().size(), 1u);
  EXPECT_EQ(Fired()[0].scheduled, kStart + 1h);
  EXPECT_EQ(Fired()[0].skipped, 11u);  // 5, 10, ..., 55 minutes
  EXPECT_EQ((*scheduler_->Get("backup"))->next_fire, kStart + 1h + 5min) << "the period keeps its phase";
}

TEST_F(SchedulerTest, SchedulesAndFireTimesSurviveARestart) {
  ASSERT_TRUE(scheduler_->Put({"nightly", "cron(0 2 * * ? *)", "record", "x"}).ok());
  clock_.Advance(2h);
  EXPECT_EQ(RunDue(), 1u);
  scheduler_.reset();  // annexd stops; three nights pass
  clock_.Advance(72h + 30min);
  Open();
  EXPECT_EQ(RunDue(), 1u);
  EXPECT_EQ(RunDue(), 0u);
  auto fired = Fired();
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].scheduled, kStart + 2h);
  EXPECT_EQ(fired[1].scheduled, kStart + 72h + 2h);
  EXPECT_EQ(fired[1].skipped, 2u);
  EXPECT_EQ((*scheduler_->Get("nightly"))->next_fire, kStart + 96h + 2h);
}

TEST_F(SchedulerTest, AtFiresOnceThenNeverAgain) {
  ASSERT_TRUE(scheduler_->Put({"once", "at(2026-03-01T00:30:00)", "record", ""}).ok());
  clock_.Advance(2h);
  EXPECT_EQ(RunDue(), 1u);
  clock_.Advance(48h);
  EXPECT_EQ(RunDue(), 0u);
  auto state = *scheduler_->Get("once");
  EXPECT_EQ(state->last_fired, kStart + 30min);
  EXPECT_FALSE(state->next_fire.has_value());
}

TEST_F(SchedulerTest, ReplacingKeepsThePhaseUnlessTheExpressionChanges) {
  ASSERT_TRUE(scheduler_->Put({"r", "rate(10 minutes)", "record", "a"}).ok());
  clock_.Advance(7min);
  ASSERT_TRUE(scheduler_->Put({"r", "rate(10 minutes)", "record", "b"}).ok());
  EXPECT_EQ((*scheduler_->Get("r"))->next_fire, kStart + 10min);
  EXPECT_EQ((*scheduler_->Get("r"))->spec.payload, "b");
  ASSERT_TRUE(scheduler_->Put({"r", "rate(1 hour)", "record", "b"}).ok());
  EXPECT_EQ((*scheduler_->Get("r"))->anchor, kStart + 7min);
  EXPECT_EQ((*scheduler_->Get("r"))->next_fire, kStart + 1h + 7min);
}

TEST_F(SchedulerTest, DeletedSchedulesDoNotRun) {
  ASSERT_TRUE(scheduler_->Put({"a", "rate(1 minute)", "record", ""}).ok());
  ASSERT_TRUE(scheduler_->Put({"b", "rate(1 minute)", "record", ""}).ok());
  ASSERT_TRUE(scheduler_->Delete("a").ok());
  EXPECT_TRUE(scheduler_->Delete("a").IsNotFound());
  clock_.Advance(1min);
  EXPECT_EQ(RunDue(), 1u);
  ASSERT_EQ(Fired().size(), 1u);
  EXPECT_EQ(Fired()[0].name, "b");
  auto listed = scheduler_->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].spec.name, "b");
}

TEST_F(SchedulerTest, AFailingHandlerStillMovesToTheNextFireTime) {
  scheduler_->RegisterTarget("broken", [](const Firing&) { return Status::Unavailable("database down"); });
  ASSERT_TRUE(scheduler_->Put({"flaky", "rate(1 minute)", "broken", ""}).ok());
  clock_.Advance(1min);
  EXPECT_EQ(RunDue(), 1u);
  EXPECT_EQ(RunDue(), 0u);
  EXPECT_EQ((*scheduler_->Get("flaky"))->next_fire, kStart + 2min);
}

TEST_F(SchedulerTest, BadSchedulesAreRefused) {
  Status bad_expression = scheduler_->Put({"x", "rate(5 seconds)", "record", ""});
  EXPECT_EQ(bad_expression.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_expression.subcode(), "ValidationException");
  for (const std::string& name : std::vector<std::string>{"", "has space", "semi;colon", std::string(257, 'a')}) {
    Status s = scheduler_->Put({name, "rate(5 minutes)", "record", ""});
    EXPECT_EQ(s.subcode(), "ValidationException") << name;
  }
  EXPECT_TRUE(scheduler_->Put({"x", "rate(5 minutes)", "no-such-target", ""}).IsNotFound());
  EXPECT_TRUE(scheduler_->List()->empty());
}

TEST_F(SchedulerTest, TheThreadFiresWhenTheClockGetsThere) {
  ASSERT_TRUE(scheduler_->Put({"t", "rate(1 minute)", "record", ""}).ok());
  scheduler_->Start();
  clock_.Advance(1min);
  // The thread re-reads the clock at least once a second.
  for (int i = 0; i < 100 && Fired().empty(); ++i) std::this_thread::sleep_for(50ms);
  scheduler_->Stop();
  ASSERT_EQ(Fired().size(), 1u);
  EXPECT_EQ(Fired()[0].scheduled, kStart + 1min);
}

}  // namespace
}  // namespace annex::schedule
