// WorkloadNetwork's published ports against a fake host: choosing host
// ports, conflicts, and the DNAT rules that result.

#include <gtest/gtest.h>

#include "appliance/network/workload_network.h"
#include "tests/unit/appliance/network/fake_command_runner.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::network {
namespace {

class PublishPortsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(49153, 65535); }
  void Reopen(uint16_t first, uint16_t last) {
    WorkloadNetworkOptions o;
    o.data_dir = dir_.path();
    o.runner = &host_;
    o.first_ephemeral_port = first;
    o.last_ephemeral_port = last;
    net_ = std::make_unique<WorkloadNetwork>(o);
    ASSERT_TRUE(net_->Open().ok());
    ASSERT_TRUE(net_->Attach("a").ok());
    ASSERT_TRUE(net_->Attach("b").ok());
  }
  std::string Table() const { return host_.NftTable("annex"); }
  bool HasRule(const std::string& rule) const { return Table().find(rule) != std::string::npos; }

  testing::FakeCommandRunner host_;
  annex::testing::TempDir dir_;
  std::unique_ptr<WorkloadNetwork> net_;
};

TEST_F(PublishPortsTest, ExplicitAndChosenHostPortsBecomeDnatRules) {
  auto bound = net_->PublishPorts("a", {{Protocol::kTcp, 80, 8080}, {Protocol::kTcp, 443, 0}});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  ASSERT_EQ(bound->size(), 2u);
  EXPECT_EQ((*bound)[0], (PortBinding{Protocol::kTcp, 80, 8080}));
  EXPECT_EQ((*bound)[1], (PortBinding{Protocol::kTcp, 443, 49153}));
  EXPECT_TRUE(HasRule("tcp dport 8080 dnat to 172.30.0.2:80")) << Table();
  EXPECT_TRUE(HasRule("tcp dport 49153 dnat to 172.30.0.2:443")) << Table();
  // Both the outside (prerouting) and the host itself (output) are DNATed.
  EXPECT_TRUE(HasRule("type nat hook prerouting")) << Table();
  EXPECT_TRUE(HasRule("type nat hook output")) << Table();
  EXPECT_TRUE(HasRule("ip saddr 127.0.0.0/8 oifname \"annex0\" masquerade")) << Table();
  EXPECT_EQ(net_->Find("a")->ports, *bound);
}

TEST_F(PublishPortsTest, APublishedHostPortIsRefusedToOthers) {
  ASSERT_TRUE(net_->PublishPorts("a", {{Protocol::kTcp, 80, 8080}}).ok());
  EXPECT_EQ(net_->PublishPorts("b", {{Protocol::kTcp, 80, 8080}}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(net_->PublishPorts("a", {{Protocol::kTcp, 81, 8080}}).status().code(), StatusCode::kAlreadyExists);
  // Another protocol is another port.
  EXPECT_TRUE(net_->PublishPorts("b", {{Protocol::kUdp, 80, 8080}}).ok());
  // Publishing the same again is a retry, not a conflict.
  auto again = net_->PublishPorts("a", {{Protocol::kTcp, 80, 8080}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(net_->Find("a")->ports.size(), 1u);
}

TEST_F(PublishPortsTest, PublishingIsAllOrNothing) {
  ASSERT_TRUE(net_->PublishPorts("a", {{Protocol::kTcp, 80, 8080}}).ok());
  EXPECT_FALSE(net_->PublishPorts("b", {{Protocol::kTcp, 81, 8081}, {Protocol::kTcp, 80, 8080}}).ok());
  EXPECT_TRUE(net_->Find("b")->ports.empty());
  EXPECT_FALSE(HasRule("dport 8081"));
}

TEST_F(PublishPortsTest, ANftFailureLeavesThePortsUnpublished) {
  host_.FailCommand("nft", 1);
  EXPECT_FALSE(net_->PublishPorts("a", {{Protocol::kTcp, 80, 8080}}).ok());
  EXPECT_TRUE(net_->Find("a")->ports.empty());
  EXPECT_TRUE(net_->PublishPorts("b", {{Protocol::kTcp, 80, 8080}}).ok());
}

TEST_F(PublishPortsTest, ChosenPortsSkipTakenOnesAndRunOut) {
  Reopen(50000, 50002);
  // The explicit port is taken first even though it comes second.
  auto bound = net_->PublishPorts("a", {{Protocol::kTcp, 80, 0}, {Protocol::kTcp, 81, 50000}});
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ((*bound)[0].host_port, 50001);
  EXPECT_EQ((*bound)[1].host_port, 50000);
  EXPECT_EQ(net_->PublishPorts("b", {{Protocol::kTcp, 80, 0}})->at(0).host_port, 50002);
  EXPECT_EQ(net_->PublishPorts("b", {{Protocol::kTcp, 81, 0}}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(net_->PublishPorts("b", {{Protocol::kUdp, 81, 0}})->at(0).host_port, 50000);
  ASSERT_TRUE(net_->UnpublishPorts("a").ok());
  EXPECT_TRUE(net_->PublishPorts("b", {{Protocol::kTcp, 81, 0}}).ok());
}

TEST_F(PublishPortsTest, UnpublishRemovesTheRules) {
  ASSERT_TRUE(net_->PublishPorts("a", {{Protocol::kTcp, 80, 8080}}).ok());
  ASSERT_TRUE(net_->PublishPorts("b", {{Protocol::kTcp, 80, 8081}}).ok());
  ASSERT_TRUE(net_->UnpublishPorts("a").ok());
  EXPECT_FALSE(HasRule("dport 8080"));
  EXPECT_TRUE(HasRule("dport 8081"));
  EXPECT_TRUE(net_->Find("a")->ports.empty());
  EXPECT_TRUE(net_->PublishPorts("b", {{Protocol::kTcp, 80, 8080}}).ok());
  EXPECT_EQ(net_->UnpublishPorts("nobody").code(), StatusCode::kNotFound);
}

TEST_F(PublishPortsTest, BadRequestsAreRefused) {
  EXPECT_EQ(net_->PublishPorts("nobody", {{Protocol::kTcp, 80, 0}}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(net_->PublishPorts("a", {{Protocol::kTcp, 0, 8080}}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace annex::network
