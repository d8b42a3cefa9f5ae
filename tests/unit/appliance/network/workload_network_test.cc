// WorkloadNetwork against a fake host: what it creates, what it keeps across
// a restart, and what a failure leaves behind (nothing).

#include "appliance/network/workload_network.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/unit/appliance/network/fake_command_runner.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::network {
namespace {

class WorkloadNetworkTest : public ::testing::Test {
 protected:
  WorkloadNetworkOptions Options(std::string subnet = "172.30.0.0/16") {
    WorkloadNetworkOptions o;
    o.data_dir = dir_.path() + "/network";
    o.subnet = std::move(subnet);
    o.runner = &host_;
    return o;
  }
  std::unique_ptr<WorkloadNetwork> Open(WorkloadNetworkOptions o) {
    auto net = std::make_unique<WorkloadNetwork>(std::move(o));
    Status s = net->Open();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return net;
  }
  std::unique_ptr<WorkloadNetwork> Open() { return Open(Options()); }

  testing::FakeCommandRunner host_;
  annex::testing::TempDir dir_;
};

TEST_F(WorkloadNetworkTest, OpenSetsUpBridgeForwardingAndNat) {
  auto net = Open();
  EXPECT_EQ(host_.GetLink("annex0").kind, "bridge");
  EXPECT_TRUE(host_.GetLink("annex0").up);
  EXPECT_EQ(host_.Addresses("annex0"), std::set<std::string>{"172.30.0.1/16"});
  EXPECT_EQ(host_.Sysctl("net/ipv4/ip_forward"), "1");
  EXPECT_EQ(host_.Sysctl("net/ipv4/conf/annex0/route_localnet"), "1");
  std::string table = host_.NftTable("annex");
  EXPECT_NE(table.find("ip saddr 172.30.0.0/16 oifname != \"annex0\" masquerade"), std::string::npos) << table;
  EXPECT_EQ(net->gateway(), "172.30.0.1");
}

TEST_F(WorkloadNetworkTest, OpenKeepsAnExistingBridge) {
  Open();
  size_t adds = 0;
  Open();
  for (const std::string& c : host_.commands()) adds += c.find("type bridge") != std::string::npos;
  EXPECT_EQ(adds, 1u);
}

TEST_F(WorkloadNetworkTest, RejectsBadOptionsAndCallsBeforeOpen) {
  WorkloadNetworkOptions o = Options();
  o.bridge = "a-bridge-name-too-long";
  EXPECT_EQ(WorkloadNetwork(o).Open().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WorkloadNetwork(Options("172.30.0.1/16")).Open().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WorkloadNetwork(Options("10.0.0.0/31")).Open().code(), StatusCode::kInvalidArgument);
  WorkloadNetwork unopened(Options());
  EXPECT_EQ(unopened.Attach("t").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(unopened.Detach("t").code(), StatusCode::kFailedPrecondition);
}

TEST_F(WorkloadNetworkTest, OpenFailsWhenTheBridgeCannotBeMade) {
  host_.FailCommand("ip link add name annex0");
  WorkloadNetwork net(Options());
  Status s = net.Open();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("injected failure"), std::string::npos) << s.ToString();
  EXPECT_EQ(net.Attach("t").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(WorkloadNetworkTest, AttachGivesANamespaceWiredToTheBridge) {
  auto net = Open();
  Result<Attachment> a = net->Attach("task1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->id, "task1");
  EXPECT_EQ(a->netns_name, "annex-task1");
  EXPECT_EQ(a->netns_path, "/run/netns/annex-task1");
  EXPECT_EQ(a->ipv4, "172.30.0.2");
  EXPECT_EQ(a->prefix_len, 16);
  EXPECT_EQ(a->gateway, "172.30.0.1");
  EXPECT_LE(a->host_veth.size(), 15u);
  testing::FakeCommandRunner::Netns ns = host_.GetNetns("annex-task1");
  EXPECT_EQ(ns.links, (std::set<std::string>{"lo", "eth0"}));
  EXPECT_EQ(ns.addresses, std::set<std::string>{"172.30.0.2/16"});
  EXPECT_EQ(ns.default_via, "172.30.0.1");
  EXPECT_EQ(host_.GetLink(a->host_veth).master, "annex0");
  EXPECT_EQ(host_.GetLink(a->host_veth).peer_netns, "annex-task1");
}

TEST_F(WorkloadNetworkTest, AttachIsIdempotent) {
  auto net = Open();
  Attachment first = net->Attach("task1").value();
  size_t commands = host_.commands().size();
  Attachment again = net->Attach("task1").value();
  EXPECT_EQ(again.ipv4, first.ipv4);
  EXPECT_EQ(again.netns_path, first.netns_path);
  EXPECT_EQ(host_.commands().size(), commands);
  EXPECT_EQ(net->List().size(), 1u);
}

TEST_F(WorkloadNetworkTest, IdsThatAreNotNamesGetHashedNamespaceNames) {
  auto net = Open();
  std::string arn = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef";
  Attachment a = net->Attach(arn).value();
  EXPECT_EQ(a.netns_name.rfind("annex_", 0), 0u) << a.netns_name;
  EXPECT_EQ(a.netns_name.size(), 6u + 24u);
  Attachment b = net->Attach("task_1").value();  // '_' is the hashed names' mark
  EXPECT_NE(b.netns_name, "annex-task_1");
  EXPECT_NE(a.netns_name, b.netns_name);
  EXPECT_EQ(net->Attach("").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(WorkloadNetworkTest, AddressesAreNotReusedWhileAttachedAndFreedOnesComeLast) {
  auto net = Open();
  EXPECT_EQ(net->Attach("a").value().ipv4, "172.30.0.2");
  EXPECT_EQ(net->Attach("b").value().ipv4, "172.30.0.3");
  ASSERT_TRUE(net->Detach("a").ok());
  EXPECT_EQ(net->Attach("c").value().ipv4, "172.30.0.4");
  EXPECT_EQ(net->Attach("a").value().ipv4, "172.30.0.5");
}

TEST_F(WorkloadNetworkTest, ASmallSubnetRunsOutAndRecovers) {
  auto net = Open(Options("10.9.0.0/29"));  // hosts .1-.6: gateway + 5 workloads
  std::set<std::string> seen;
  for (int i = 0; i < 5; ++i) seen.insert(net->Attach("w" + std::to_string(i)).value().ipv4);
  EXPECT_EQ(seen, (std::set<std::string>{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}));
  Result<Attachment> full = net->Attach("w5");
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(host_.HasNetns("annex-w5"));
  ASSERT_TRUE(net->Detach("w2").ok());
  EXPECT_EQ(net->Attach("w5").value().ipv4, "10.9.0.4");
}

TEST_F(WorkloadNetworkTest, AFailedAttachLeavesNothingBehind) {
  auto net = Open();
  size_t links = host_.LinkCount();
  for (std::string step : {"ip netns add", "ip link add name annex", "ip -n annex-t1 addr", "ip -n annex-t1 route"}) {
    SCOPED_TRACE(step);
    host_.ClearFailures();
    host_.FailCommand(step);
    Result<Attachment> a = net->Attach("t1");
    EXPECT_FALSE(a.ok());
    EXPECT_FALSE(host_.HasNetns("annex-t1"));
    EXPECT_EQ(host_.LinkCount(), links);
    EXPECT_EQ(net->Find("t1").status().code(), StatusCode::kNotFound);
  }
  host_.ClearFailures();
  ASSERT_TRUE(net->Attach("t1").ok());
  // Nothing of the failed attempts survives a restart either.
  auto reopened = Open();
  EXPECT_EQ(reopened->List().size(), 1u);
}

TEST_F(WorkloadNetworkTest, AttachNeverRemovesANamespaceItDidNotMake) {
  auto net = Open();
  ASSERT_TRUE(host_.Run({"ip", "netns", "add", "annex-t1"}).ok());
  EXPECT_FALSE(net->Attach("t1").ok());
  EXPECT_TRUE(host_.HasNetns("annex-t1"));
}

TEST_F(WorkloadNetworkTest, DetachRemovesNamespaceVethAndPorts) {
  auto net = Open();
  Attachment a = net->Attach("t1").value();
  ASSERT_TRUE(net->PublishPorts("t1", {{Protocol::kTcp, 80, 8080}}).ok());
  ASSERT_TRUE(net->Detach("t1").ok());
  EXPECT_FALSE(host_.HasNetns(a.netns_name));
  EXPECT_FALSE(host_.HasLink(a.host_veth));
  EXPECT_EQ(host_.NftTable("annex").find("dport 8080"), std::string::npos);
  EXPECT_EQ(net->Find("t1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(net->Detach("t1").ok());
  EXPECT_TRUE(net->Detach("never-attached").ok());
}

TEST_F(WorkloadNetworkTest, AFailedDetachCanBeRetried) {
  auto net = Open();
  Attachment a = net->Attach("t1").value();
  host_.FailCommand("ip netns del", 1);
  host_.FailCommand("ip netns list", 1);  // so the namespace may still be there
  EXPECT_FALSE(net->Detach("t1").ok());
  EXPECT_TRUE(net->Find("t1").ok());
  ASSERT_TRUE(net->Detach("t1").ok());
  EXPECT_FALSE(host_.HasNetns(a.netns_name));
}

TEST_F(WorkloadNetworkTest, AttachmentsAndPortsSurviveARestart) {
  Attachment a, b;
  {
    auto net = Open();
    a = net->Attach("a").value();
    b = net->Attach("b").value();
    ASSERT_TRUE(net->PublishPorts("a", {{Protocol::kTcp, 80, 8080}, {Protocol::kUdp, 53, 0}}).ok());
  }
  host_.RemoveLink("annex0");  // the bridge is gone too (deleted by hand)
  auto net = Open();
  std::vector<Attachment> all = net->List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].ipv4, a.ipv4);
  EXPECT_EQ(all[1].ipv4, b.ipv4);
  ASSERT_EQ(all[0].ports.size(), 2u);
  EXPECT_EQ(all[0].ports[1].host_port, 49153);
  EXPECT_EQ(host_.GetLink(a.host_veth).master, "annex0");  // back on the new bridge
  std::string table = host_.NftTable("annex");
  EXPECT_NE(table.find("tcp dport 8080 dnat to " + a.ipv4 + ":80"), std::string::npos) << table;
  EXPECT_NE(table.find("udp dport 49153 dnat to " + a.ipv4 + ":53"), std::string::npos) << table;
  EXPECT_EQ(net->Attach("c").value().ipv4, "172.30.0.4");
  EXPECT_EQ(net->PublishPorts("c", {{Protocol::kTcp, 80, 8080}}).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(WorkloadNetworkTest, ARestartDropsAttachmentsWhoseNamespaceVanished) {
  Attachment a;
  {
    auto net = Open();
    a = net->Attach("a").value();
    ASSERT_TRUE(net->Attach("b").ok());
    ASSERT_TRUE(net->PublishPorts("a", {{Protocol::kTcp, 80, 8080}}).ok());
  }
  host_.RemoveNetns(a.netns_name);
  auto net = Open();
  EXPECT_EQ(net->Find("a").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(net->Find("b").ok());
  EXPECT_FALSE(host_.HasLink(a.host_veth));
  EXPECT_EQ(host_.NftTable("annex").find("dport 8080"), std::string::npos);
  EXPECT_TRUE(net->PublishPorts("b", {{Protocol::kTcp, 80, 8080}}).ok());
}

TEST_F(WorkloadNetworkTest, ARestartRemovesWhatACrashLeftHalfMade) {
  {
    auto net = Open();
    ASSERT_TRUE(net->Attach("done").ok());
  }
  // A crash after the record was written and the namespace made, before
  // the attachment was complete.
  NetworkState state = DecodeNetworkState(
      os::ReadFileToString(os::PosixFileSystem(), dir_.path() + "/network/network.state").value()).value();
  AttachmentRecord half{"half", "annex-half", "annexac1e0009", Ipv4Address::Parse("172.30.0.9").value(), false, {}};
  state.attachments.push_back(half);
  ASSERT_TRUE(os::WriteFileAtomic(os::PosixFileSystem(), dir_.path() + "/network/network.state",
                                  EncodeNetworkState(state)).ok());
  ASSERT_TRUE(host_.Run({"ip", "netns", "add", "annex-half"}).ok());
  auto net = Open();
  EXPECT_FALSE(host_.HasNetns("annex-half"));
  EXPECT_EQ(net->Find("half").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(net->Find("done").ok());
}

TEST_F(WorkloadNetworkTest, ARestartWithAnotherSubnetIsRefusedWhileAttached) {
  {
    auto net = Open();
    ASSERT_TRUE(net->Attach("a").ok());
  }
  WorkloadNetwork other(Options("10.50.0.0/16"));
  EXPECT_EQ(other.Open().code(), StatusCode::kFailedPrecondition);
  {
    auto net = Open();
    ASSERT_TRUE(net->Detach("a").ok());
  }
  EXPECT_TRUE(other.Open().ok());
}

TEST_F(WorkloadNetworkTest, ACorruptStateFileFailsOpen) {
  Open();
  ASSERT_TRUE(os::WriteFileAtomic(os::PosixFileSystem(), dir_.path() + "/network/network.state", "\x01garbage").ok());
  WorkloadNetwork net(Options());
  EXPECT_EQ(net.Open().code(), StatusCode::kCorruption);
}

TEST_F(WorkloadNetworkTest, ServiceAddressesGoOnTheBridge) {
  auto net = Open();
  ASSERT_TRUE(net->AddServiceAddress("169.254.170.2").ok());
  ASSERT_TRUE(net->AddServiceAddress("169.254.170.2").ok());
  EXPECT_EQ(host_.Addresses("annex0"), (std::set<std::string>{"172.30.0.1/16", "169.254.170.2/32"}));
  EXPECT_EQ(net->AddServiceAddress("169.254.170").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(net->AddServiceAddress("172.30.9.9").code(), StatusCode::kInvalidArgument);
}

TEST_F(WorkloadNetworkTest, DestroyRemovesEverything) {
  auto net = Open();
  ASSERT_TRUE(net->Attach("a").ok());
  ASSERT_TRUE(net->Attach("b").ok());
  ASSERT_TRUE(net->Destroy().ok());
  EXPECT_EQ(host_.NetnsCount(), 0u);
  EXPECT_EQ(host_.LinkCount(), 0u);
  EXPECT_EQ(host_.NftTable("annex"), "");
  EXPECT_EQ(Open()->List().size(), 0u);
}

TEST_F(WorkloadNetworkTest, ConcurrentAttachesGetDistinctAddresses) {
  auto net = Open();
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> addresses;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        Result<Attachment> a = net->Attach("t" + std::to_string(t) + "-" + std::to_string(i));
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        std::lock_guard lock(mu);
        addresses.insert(a->ipv4);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(addresses.size(), 40u);
  EXPECT_EQ(net->List().size(), 40u);
}

}  // namespace
}  // namespace annex::network
