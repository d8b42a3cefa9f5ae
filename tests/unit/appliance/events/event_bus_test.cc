// The event bus on a ManualClock: events commit with the write that causes
// them, arrive in order with stable delivery ids, failing consumers are
// retried with backoff and then dead-lettered, and progress survives a restart.

#include "appliance/events/event_bus.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/testing/temp_dir.h"

namespace annex::events {
namespace {

using namespace std::chrono_literals;

class EventBusTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    bus_.reset();
    log_.reset();
    env_.reset();
    env_ = store::LmdbEnv::Open(dir_.path()).value();
    log_ = EventLog::Open("objectstore", *env_).value();
    bus_ = std::make_unique<EventBus>(clock_, EventBusOptions{.max_attempts = 3, .initial_backoff = 1s});
    bus_->AddLog(log_.get());
  }

  uint64_t Publish(std::string source, std::string detail, bool commit = true) {
    auto txn = env_->BeginWrite().value();
    auto seq = log_->Publish(txn, source, "Object Created", detail, 1000);
    EXPECT_TRUE(seq.ok());
    if (commit) {
      EXPECT_TRUE(txn.Commit().ok());
    }
    return seq.ok() ? *seq : 0;
  }

  size_t Deliver() {
    auto n = bus_->DeliverDue();
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : 0;
  }

  // A subscriber that records what it gets and fails while `failing` is set.
  void Record(const std::string& name, std::string prefix = "") {
    bus_->Subscribe({name, std::move(prefix), [this, name](const Event& e) {
                       if (failing_[name]) return Status::Unavailable("consumer down");
                       got_[name].push_back(e.delivery_id() + " " + e.detail);
                       return Status::OK();
                     }});
  }

  annex::testing::TempDir dir_;
  os::ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::hours(500000))};
  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<EventBus> bus_;
  std::map<std::string, std::vector<std::string>> got_;
  std::map<std::string, bool> failing_;
};

TEST_F(EventBusTest, EventsCommitWithTheirWriteAndArriveInOrder) {
  Record("lambda");
  Record("audit");
  Publish("aws.s3", "a");
  Publish("aws.s3", "lost", /*commit=*/false);  // the write was rolled back: so is its event
  Publish("aws.s3", "b");
  EXPECT_EQ(Deliver(), 4u);
  std::vector<std::string> expected = {"objectstore:1 a", "objectstore:2 b"};
  EXPECT_EQ(got_["lambda"], expected);
  EXPECT_EQ(got_["audit"], expected);
  EXPECT_EQ(Deliver(), 0u) << "delivered once";
}

TEST_F(EventBusTest, SubscribersSeeOnlyTheirSources) {
  Record("s3-only", "aws.s3");
  Publish("aws.ecr", "image");
  Publish("aws.s3", "object");
  Deliver();
  EXPECT_EQ(got_["s3-only"], std::vector<std::string>{"objectstore:2 object"});
}

TEST_F(EventBusTest, AFailingConsumerIsRetriedWithBackoffThenDeadLettered) {
  Record("flaky");
  Record("healthy");
  Publish("aws.s3", "1");
  Publish("aws.s3", "2");
  failing_["flaky"] = true;
  Deliver();
  EXPECT_EQ(got_["healthy"].size(), 2u) << "one consumer's failure does not hold up another";
  EXPECT_TRUE(got_["flaky"].empty());
  EXPECT_EQ(Deliver(), 0u) << "backing off";
  clock_.Advance(1s);
  Deliver();  // second failure; next try 2 s later
  clock_.Advance(1s);
  EXPECT_EQ(Deliver(), 0u);
  clock_.Advance(1s);
  failing_["flaky"] = false;
  Deliver();
  EXPECT_EQ(got_["flaky"], (std::vector<std::string>{"objectstore:1 1", "objectstore:2 2"})) << "in order";

  failing_["flaky"] = true;
  Publish("aws.s3", "poison");
  Publish("aws.s3", "after");
  for (int i = 0; i < 3; ++i) {
    Deliver();
    clock_.Advance(10s);
  }
  failing_["flaky"] = false;
  Deliver();
  EXPECT_EQ(got_["flaky"].back(), "objectstore:4 after") << "the cursor moved past the dead letter";
  auto dead = log_->DeadLetters();
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].event.detail, "poison");
  EXPECT_EQ((*dead)[0].subscriber, "flaky");
  EXPECT_EQ((*dead)[0].attempts, 3u);
  EXPECT_NE((*dead)[0].error.find("consumer down"), std::string::npos);
}

TEST_F(EventBusTest, ProgressSurvivesARestartAndDeliveredEventsAreDropped) {
  Record("lambda");
  Publish("aws.s3", "a");
  Deliver();
  Publish("aws.s3", "b");
  Open();  // restart before "b" was delivered
  Record("lambda");
  Deliver();
  EXPECT_EQ(got_["lambda"], (std::vector<std::string>{"objectstore:1 a", "objectstore:2 b"}));
  EXPECT_FALSE(log_->ReadFrom(1, 10)->empty()) << "progress is saved per batch or interval, not per event";
  clock_.Advance(1s);
  Deliver();  // nothing new, but the save interval has passed
  EXPECT_TRUE(log_->ReadFrom(1, 10)->empty()) << "every subscriber has them";
  EXPECT_EQ(Publish("aws.s3", "c"), 3u) << "sequence numbers are never reused";
}

TEST_F(EventBusTest, TheThreadDeliversOnNotify) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> got;
  bus_->Subscribe({"t", "", [&](const Event& e) {
                     std::lock_guard lock(mu);
                     got.push_back(e.detail);
                     cv.notify_all();
                     return Status::OK();
                   }});
  bus_->Start();
  Publish("aws.s3", "x");
  bus_->Notify();
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return !got.empty(); }));
  lock.unlock();
  bus_->Stop();
  EXPECT_EQ(got, std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace annex::events
