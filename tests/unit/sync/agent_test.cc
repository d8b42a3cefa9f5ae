// The agent against a real (in-process) control plane: enrollment, inventory
// deltas, offline changes delivered exactly once after a control-plane
// restart, commands, and an agent restart that keeps its identity.

#include "sync/agent/agent.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "tests/unit/sync/test_control_plane.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::sync {
namespace {

using namespace std::chrono_literals;
using testing::NowMs;

// Waits up to 20 s for `cond`.
template <typename Cond>
bool Eventually(Cond cond) {
  for (int i = 0; i < 400; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = std::make_unique<testing::TestControlPlane>(tmp_.path());
    ASSERT_TRUE(cp_->Start());
  }

  AgentOptions Options(const std::string& token) {
    AgentOptions o;
    o.state_dir = tmp_.path() + "/appliance/sync";
    o.control_plane = cp_->address();
    o.enrollment_token = token;
    o.agent_version = "test";
    o.heartbeat = 100ms;
    o.backoff = BackoffPolicy{50ms, 1.6, 500ms, 0.2};
    o.inventory = [this] {
      std::lock_guard lock(mu_);
      std::vector<InventoryItem> items;
      for (const auto& [name, state] : buckets_) items.push_back({"bucket", name, state});
      return items;
    };
    o.execute = [this](const std::string& kind, const std::string& args) -> Result<std::string> {
      std::lock_guard lock(mu_);
      executed_.push_back(kind + " " + args);
      return std::string("done");
    };
    o.capacity = [] { return AgentCapacity{2, 1 << 30, 10ull << 30, 5ull << 30, {"s3"}}; };
    o.now_unix_ms = NowMs;
    return o;
  }

  void SetBucket(const std::string& name, const std::string& state) {
    std::lock_guard lock(mu_);
    buckets_[name] = state;
  }
  void RemoveBucket(const std::string& name) {
    std::lock_guard lock(mu_);
    buckets_.erase(name);
  }
  std::map<std::string, ResourceState> Reported(const std::string& zone) {
    std::map<std::string, ResourceState> out;
    auto resources = cp_->registry().ListResources(zone);
    if (resources.ok()) {
      for (auto& r : *resources) out[r.id] = r;
    }
    return out;
  }

  annex::testing::TempDir tmp_;
  std::unique_ptr<testing::TestControlPlane> cp_;
  std::mutex mu_;
  std::map<std::string, std::string> buckets_;
  std::vector<std::string> executed_;
};

TEST_F(AgentTest, EnrollsReportsAndStaysInSyncAcrossAControlPlaneRestart) {
  SetBucket("alpha", "{\"acl\":\"private\"}");
  auto agent = Agent::Start(Options(cp_->NewToken("lisbon-1")));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  const std::string zone = "us-east-1-annex-lisbon-1";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }))
      << (*agent)->status().last_error;
  EXPECT_EQ((*agent)->status().zone, zone);
  ASSERT_TRUE(Eventually([&] { return Reported(zone).count("alpha"); }));
  auto z = cp_->registry().GetZone(zone, NowMs()).value();
  EXPECT_EQ(z->state, ZoneState::kAvailable);
  EXPECT_EQ(z->capacity.cpus, 2u);

  // The link goes down; the appliance keeps changing things.
  cp_->Stop();
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms == 0; }));
  SetBucket("beta", "{}");
  SetBucket("alpha", "{\"acl\":\"public-read\"}");
  RemoveBucket("alpha");
  SetBucket("gamma", "{}");
  ASSERT_TRUE((*agent)->SyncInventory().ok());
  EXPECT_GT((*agent)->status().outbox_depth, 0u);

  ASSERT_TRUE(cp_->Start());
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; })) << (*agent)->status().last_error;
  auto reported = Reported(zone);
  EXPECT_EQ(reported.count("alpha"), 0u);  // deleted while offline
  EXPECT_EQ(reported.count("beta"), 1u);
  EXPECT_EQ(reported.count("gamma"), 1u);
  // Exactly once: the control plane applied every record the agent wrote, no more.
  EXPECT_EQ(cp_->registry().GetZone(zone, NowMs()).value()->last_applied_seq, (*agent)->status().last_sequence);
}

TEST_F(AgentTest, ExecutesCommandsOnceAndReportsTheirResults) {
  auto agent = Agent::Start(Options(cp_->NewToken("porto")));
  ASSERT_TRUE(agent.ok());
  const std::string zone = "us-east-1-annex-porto";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  auto command = cp_->registry().CreateCommand(zone, "CreateBucket", "{\"bucket\":\"logs\"}", NowMs());
  ASSERT_TRUE(command.ok());
  ASSERT_TRUE(Eventually([&] { return cp_->registry().GetCommand(command->id).value()->state == "succeeded"; }));
  EXPECT_EQ(cp_->registry().GetCommand(command->id).value()->result, "done");
  std::this_thread::sleep_for(300ms);
  std::lock_guard lock(mu_);
  ASSERT_EQ(executed_.size(), 1u);
  EXPECT_EQ(executed_[0], "CreateBucket {\"bucket\":\"logs\"}");
}

TEST_F(AgentTest, ARestartedAgentKeepsItsIdentityAndSequence) {
  SetBucket("one", "{}");
  std::string token = cp_->NewToken("braga");
  uint64_t sent = 0;
  {
    auto agent = Agent::Start(Options(token));
    ASSERT_TRUE(agent.ok());
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().last_acknowledged >= 1; }));
    sent = (*agent)->status().last_sequence;
  }
  SetBucket("two", "{}");
  // The token is spent; the stored identity is what reconnects.
  auto again = Agent::Start(Options(token));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(Eventually([&] { return Reported("us-east-1-annex-braga").count("two"); }));
  EXPECT_EQ((*again)->status().last_sequence, sent + 1);
  EXPECT_TRUE((*again)->status().enrolled);
}

// Certificates are renewed at 70-90 % of their life, and the session goes on
// with the new one (the old one is refused from then on).
TEST_F(AgentTest, RenewsItsCertificateBeforeItExpires) {
  cp_->Stop();
  cp_ = std::make_unique<testing::TestControlPlane>(tmp_.path() + "/short", std::chrono::seconds(8));
  ASSERT_TRUE(cp_->Start());
  auto agent = Agent::Start(Options(cp_->NewToken("faro")));
  ASSERT_TRUE(agent.ok());
  const std::string zone = "us-east-1-annex-faro";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  int64_t first_expiry = (*agent)->status().certificate_not_after_unix;
  std::string first_serial = cp_->registry().GetZone(zone, NowMs()).value()->cert_serial;
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().certificate_not_after_unix > first_expiry; }));
  EXPECT_NE(cp_->registry().GetZone(zone, NowMs()).value()->cert_serial, first_serial);
  // Still (or again) connected, past the first certificate's end.
  while (NowMs() / 1000 <= first_expiry) std::this_thread::sleep_for(100ms);
  SetBucket("after-renewal", "{}");
  ASSERT_TRUE(Eventually([&] { return Reported(zone).count("after-renewal"); })) << (*agent)->status().last_error;
}

}  // namespace
}  // namespace annex::sync
