#pragma once
// NatTable: the nftables table the workload network owns ("table ip annex"),
// rendered whole from the current attachments and applied in one `nft -f`
// transaction, so the kernel never holds a half-updated rule set and
// nothing outside the table is touched.
//
//   prerouting / output   traffic to a local address on a published port is
//                         DNATed to its workload (output: the host itself,
//                         e.g. curl 127.0.0.1:<port>)
//   prerouting            traffic from the bridge to a host endpoint is
//                         DNATed to annexd's loopback listener
//                         (route_localnet on the bridge lets it through)
//   postrouting           masquerade: workloads' traffic leaving through any
//                         other interface; loopback-sourced traffic DNATed
//                         onto the bridge (the kernel would drop a 127/8
//                         source there); and DNATed traffic from the subnet
//                         back onto the bridge (hairpin: a workload reaching
//                         another through a published port)
//
// Pure functions; thread-safe.

#include <string>
#include <vector>

#include "appliance/network/attachment.h"
#include "appliance/network/ipv4.h"

namespace annex::network {

// One published port and where it leads.
struct NatRule {
  PortBinding binding;
  Ipv4Address workload;
};

// An appliance endpoint workloads reach at `address:port` (ECS's
// 169.254.170.2:80), served by annexd on 127.0.0.1:`host_port`.
struct HostEndpoint {
  Ipv4Address address;
  uint16_t port = 0;
  uint16_t host_port = 0;
};

struct NatTableSpec {
  std::string table;   // nft table name, family ip
  std::string bridge;  // the bridge interface
  Ipv4Subnet subnet;
  std::vector<NatRule> rules;
  std::vector<HostEndpoint> endpoints;
};

// An nft script that replaces the table (creating it if missing) atomically.
std::string RenderNatTable(const NatTableSpec& spec);
// An nft script that deletes the table, and is a no-op if it does not exist.
std::string RenderNatTableRemoval(const std::string& table);

}  // namespace annex::network
