// The output forwarder with real workloads: lines reach the stream the
// spec names, stdout and stderr both; a partial line waits for its end
// while the run lasts and goes once it has ended; nothing is forwarded
// twice across passes, and output written while no forwarder ran (annexd
// down) arrives when one runs again. A sink that fails keeps the lines for
// the next pass.

#include "appliance/supervisor/output_forwarder.h"

#include <mutex>

#include "appliance/daemon/workload_log_sink.h"
#include "appliance/logs/log_store.h"
#include "tests/unit/appliance/supervisor/supervisor_fixture.h"

namespace annex::supervisor {
namespace {

class RecordingSink final : public OutputSink {
 public:
  Status Append(const LogDestination& to, std::vector<OutputLine> lines) override {
    std::lock_guard lock(mu_);
    if (fail_) return Status::Unavailable("sink down");
    for (auto& l : lines) received_.push_back(to.group + "|" + to.stream + "|" + l.text);
    return Status::OK();
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  std::mutex mu_;
  bool fail_ = false;
  std::vector<std::string> received_;
};

class OutputForwarderTest : public SupervisorTest {
 protected:
  static WorkloadSpec Logged(std::string script) {
    WorkloadSpec spec = Shell(std::move(script));
    spec.log = {"111111111111", "/test/app", "app/1"};
    return spec;
  }
  std::unique_ptr<OutputForwarder> Forwarder() {
    return std::make_unique<OutputForwarder>(*sup_, sink_, OutputForwarder::Options{});
  }
  RecordingSink sink_;
};

TEST_F(OutputForwarderTest, LinesReachTheNamedStreamOnceAndPartialLinesWaitForTheirEnd) {
  if (!sup_) return;
  // Prints two lines, a partial one, then waits to be told to finish it.
  std::string gate = dir_.path() + "/go";
  ASSERT_TRUE(sup_->Start("app", Logged("echo one; echo two >&2; printf part; while [ ! -e " + gate +
                                        " ]; do sleep 0.02; done; echo ial; echo last"),
                          Never())
                  .ok());
  auto forwarder = Forwarder();
  auto w = sup_->Get("app");
  ASSERT_TRUE(WaitOutput(*w, "part"));
  std::this_thread::sleep_for(100ms);  // stderr written too
  ASSERT_TRUE(forwarder->ForwardOnce().ok());
  EXPECT_EQ(sink_.received(), (std::vector<std::string>{"/test/app|app/1|one", "/test/app|app/1|two"}));
  ASSERT_TRUE(forwarder->ForwardOnce().ok());
  EXPECT_EQ(sink_.received().size(), 2u) << "nothing twice";

  std::ofstream(gate).put('x');
  WaitPhase("app", WorkloadPhase::kExited);
  ASSERT_TRUE(forwarder->ForwardOnce().ok());
  auto got = sink_.received();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2], "/test/app|app/1|partial");
  EXPECT_EQ(got[3], "/test/app|app/1|last");
}

TEST_F(OutputForwarderTest, OutputWrittenWhileNothingForwardedArrivesLaterAndAFailingSinkLosesNothing) {
  if (!sup_) return;
  auto forwarder = Forwarder();
  ASSERT_TRUE(sup_->Start("chatty", Logged("i=0; while [ $i -lt 50 ]; do echo line $i; i=$((i+1)); done"), Never())
                  .ok());
  WaitPhase("chatty", WorkloadPhase::kExited);
  sink_.set_fail(true);
  EXPECT_FALSE(forwarder->ForwardOnce().ok());
  EXPECT_TRUE(sink_.received().empty());
  sink_.set_fail(false);
  forwarder.reset();  // as annexd going down
  Reopen();
  forwarder = Forwarder();
  ASSERT_TRUE(forwarder->ForwardOnce().ok());
  auto got = sink_.received();
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(got.front(), "/test/app|app/1|line 0");
  EXPECT_EQ(got.back(), "/test/app|app/1|line 49");
}

// Removed and started again under the same id between two passes: the new
// run's files start over, and so does the forwarding.
TEST_F(OutputForwarderTest, AWorkloadStartedAnewUnderItsIdIsForwardedFromItsStart) {
  if (!sup_) return;
  auto forwarder = Forwarder();
  ASSERT_TRUE(sup_->Start("job", Logged("echo first run with a long line of output"), Never()).ok());
  WaitPhase("job", WorkloadPhase::kExited);
  ASSERT_TRUE(forwarder->ForwardOnce().ok());
  ASSERT_TRUE(sup_->Remove("job").ok());
  ASSERT_TRUE(sup_->Start("job", Logged("echo again"), Never()).ok());
  WaitPhase("job", WorkloadPhase::kExited);
  ASSERT_TRUE(forwarder->ForwardOnce().ok());
  EXPECT_EQ(sink_.received(), (std::vector<std::string>{"/test/app|app/1|first run with a long line of output",
                                                         "/test/app|app/1|again"}));
}

TEST_F(OutputForwarderTest, WorkloadsWithoutADestinationStayInTheirFiles) {
  if (!sup_) return;
  ASSERT_TRUE(sup_->Start("quiet", Shell("echo not forwarded"), Never()).ok());
  WaitPhase("quiet", WorkloadPhase::kExited);
  ASSERT_TRUE(Forwarder()->ForwardOnce().ok());
  EXPECT_TRUE(sink_.received().empty());
}

// As annexd wires it: the lines land in the appliance's log store, in the
// group and stream the spec names, created on first use.
TEST_F(OutputForwarderTest, AnnexdsSinkWritesIntoTheLogStore) {
  if (!sup_) return;
  logs::LogStore::Options o;
  o.dir = dir_.path() + "/logs";
  o.maintenance_interval = 0ms;
  o.clock = &os::SystemClock();
  auto store = logs::LogStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  daemon::WorkloadLogSink sink(**store);
  OutputForwarder forwarder(*sup_, sink, OutputForwarder::Options{});
  ASSERT_TRUE(sup_->Start("web", Logged("echo GET / 200; echo boom >&2"), Never()).ok());
  WaitPhase("web", WorkloadPhase::kExited);
  ASSERT_TRUE(forwarder.ForwardOnce().ok());
  auto events = (*store)->ReadStream("111111111111", "/test/app", "app/1", logs::StreamRead{});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].message, "GET / 200");
  EXPECT_EQ((*events)[1].message, "boom");
  EXPECT_FALSE((*store)->GetGroup("222222222222", "/test/app").ok()) << "another account sees nothing";
}

}  // namespace
}  // namespace annex::supervisor
