// The workload network's value types: addresses, the address pool, the
// persisted state and the rendered nft table.

#include <gtest/gtest.h>

#include "appliance/network/address_pool.h"
#include "appliance/network/ipv4.h"
#include "appliance/network/nat_table.h"
#include "appliance/network/network_state.h"

namespace annex::network {
namespace {

TEST(Ipv4, ParsesAndFormatsDottedQuads) {
  EXPECT_EQ(Ipv4Address::Parse("172.30.0.2")->ToString(), "172.30.0.2");
  EXPECT_EQ(Ipv4Address::Parse("172.30.0.2")->ToHex(), "ac1e0002");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.x", "1..2.3"}) {
    EXPECT_FALSE(Ipv4Address::Parse(bad)) << bad;
  }
}

TEST(Ipv4, SubnetsHaveAGatewayAndHosts) {
  Ipv4Subnet s = Ipv4Subnet::Parse("172.30.0.0/16").value();
  EXPECT_EQ(s.Gateway().ToString(), "172.30.0.1");
  EXPECT_EQ(s.HostCount(), 65534u);
  EXPECT_TRUE(s.Contains(*Ipv4Address::Parse("172.30.255.255")));
  EXPECT_FALSE(s.Contains(*Ipv4Address::Parse("172.31.0.1")));
  EXPECT_EQ(s.ToString(), "172.30.0.0/16");
  for (const char* bad : {"172.30.0.0", "172.30.0.1/16", "10.0.0.0/31", "10.0.0.0/7", "10.0.0.0/x"}) {
    EXPECT_EQ(Ipv4Subnet::Parse(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AddressPool, HandsOutEachAddressOnceAndWraps) {
  AddressPool pool(Ipv4Subnet::Parse("10.0.0.0/30").value());  // .1 gateway, .2 the only workload
  EXPECT_EQ(pool.capacity(), 1u);
  EXPECT_EQ(pool.Allocate()->ToString(), "10.0.0.2");
  EXPECT_EQ(pool.Allocate().status().code(), StatusCode::kResourceExhausted);
  pool.Release(*Ipv4Address::Parse("10.0.0.2"));
  EXPECT_EQ(pool.Allocate()->ToString(), "10.0.0.2");
}

TEST(AddressPool, ReserveRefusesTheGatewayOutsidersAndDuplicates) {
  AddressPool pool(Ipv4Subnet::Parse("10.0.0.0/24").value());
  EXPECT_EQ(pool.Reserve(*Ipv4Address::Parse("10.0.0.1")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.Reserve(*Ipv4Address::Parse("10.0.0.255")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pool.Reserve(*Ipv4Address::Parse("10.0.1.5")).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(pool.Reserve(*Ipv4Address::Parse("10.0.0.2")).ok());
  EXPECT_EQ(pool.Reserve(*Ipv4Address::Parse("10.0.0.2")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(pool.Allocate()->ToString(), "10.0.0.3");
}

TEST(NetworkState, RoundTripsAndRejectsDamage) {
  NetworkState state;
  state.bridge = "annex0";
  state.subnet = "172.30.0.0/16";
  state.address_cursor = 7;
  state.attachments.push_back({"t1", "annex-t1", "annexac1e0002", *Ipv4Address::Parse("172.30.0.2"), true,
                               {{Protocol::kUdp, 53, 5353}, {Protocol::kTcp, 80, 8080}}});
  std::string bytes = EncodeNetworkState(state);
  NetworkState back = DecodeNetworkState(bytes).value();
  EXPECT_EQ(back.bridge, "annex0");
  EXPECT_EQ(back.address_cursor, 7u);
  ASSERT_EQ(back.attachments.size(), 1u);
  EXPECT_EQ(back.attachments[0].address.ToString(), "172.30.0.2");
  EXPECT_TRUE(back.attachments[0].ready);
  EXPECT_EQ(back.attachments[0].ports, state.attachments[0].ports);
  EXPECT_EQ(DecodeNetworkState(bytes.substr(0, bytes.size() - 1)).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeNetworkState(bytes + "x").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeNetworkState("").status().code(), StatusCode::kCorruption);
}

TEST(NatTable, ReplacesItsOwnTableInOneScript) {
  NatTableSpec spec{"annex", "annex0", Ipv4Subnet::Parse("172.30.0.0/16").value(),
                    {{{Protocol::kUdp, 53, 5353}, *Ipv4Address::Parse("172.30.0.2")}}};
  std::string script = RenderNatTable(spec);
  EXPECT_EQ(script.rfind("add table ip annex\ndelete table ip annex\ntable ip annex {\n", 0), 0u) << script;
  EXPECT_NE(script.find("udp dport 5353 dnat to 172.30.0.2:53"), std::string::npos) << script;
  EXPECT_NE(script.find("fib daddr type local jump published"), std::string::npos) << script;
  EXPECT_EQ(RenderNatTableRemoval("annex"), "add table ip annex\ndelete table ip annex\n");
}

}  // namespace
}  // namespace annex::network
