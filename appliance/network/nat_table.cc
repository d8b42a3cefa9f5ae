#include "appliance/network/nat_table.h"

namespace annex::network {

std::string RenderNatTable(const NatTableSpec& spec) {
  const std::string& t = spec.table;
  const std::string bridge = "\"" + spec.bridge + "\"";
  const std::string subnet = spec.subnet.ToString();
  // "add table" then "delete table" makes the delete safe when the table is
  // missing; the whole file is one transaction.
  std::string s = RenderNatTableRemoval(t);
  s += "table ip " + t + " {\n";
  s += "  chain published {\n";
  for (const NatRule& r : spec.rules) {
    s += "    " + std::string(ProtocolName(r.binding.protocol)) + " dport " + std::to_string(r.binding.host_port) +
         " dnat to " + r.workload.ToString() + ":" + std::to_string(r.binding.container_port) + "\n";
  }
  s += "  }\n";
  s += "  chain prerouting {\n";
  s += "    type nat hook prerouting priority dstnat; policy accept;\n";
  for (const HostEndpoint& e : spec.endpoints) {
    s += "    iifname " + bridge + " ip daddr " + e.address.ToString() + " tcp dport " + std::to_string(e.port) +
         " dnat to 127.0.0.1:" + std::to_string(e.host_port) + "\n";
  }
  s += "    fib daddr type local jump published\n";
  s += "  }\n";
  s += "  chain output {\n";
  // nft 1.0.6 (Debian 12) knows "dstnat" only for prerouting; -100 is its value.
  s += "    type nat hook output priority -100; policy accept;\n";
  s += "    fib daddr type local jump published\n";
  s += "  }\n";
  s += "  chain postrouting {\n";
  s += "    type nat hook postrouting priority srcnat; policy accept;\n";
  s += "    ip saddr " + subnet + " oifname != " + bridge + " masquerade\n";
  s += "    ip saddr 127.0.0.0/8 oifname " + bridge + " masquerade\n";
  s += "    ct status dnat ip saddr " + subnet + " oifname " + bridge + " masquerade\n";
  s += "  }\n";
  s += "}\n";
  return s;
}

std::string RenderNatTableRemoval(const std::string& table) {
  return "add table ip " + table + "\ndelete table ip " + table + "\n";
}

}  // namespace annex::network
