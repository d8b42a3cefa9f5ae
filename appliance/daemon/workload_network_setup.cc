#include "appliance/daemon/workload_network_setup.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <utility>

#include "appliance/core/log.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/file_system.h"

namespace annex::daemon {
namespace {

// Workloads reach annexd's plain listener at their gateway and ECS's task
// endpoint (169.254.170.2:80) on it, by DNAT to loopback; returns its port,
// or 0 when the listener is not on loopback or every address.
uint16_t ForwardApiToWorkloads(network::WorkloadNetwork& net, const std::string& listen) {
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  int port = colon == std::string::npos ? 0 : std::atoi(listen.c_str() + colon + 1);
  if (port <= 0 || port > 65535 || (host != "127.0.0.1" && host != "0.0.0.0" && host != "localhost")) {
    log::Warn("network: workloads cannot reach the API", {{"listen", listen}});
    return 0;
  }
  for (auto [address, at] : {std::pair<std::string, int>{"169.254.170.2", 80}, {net.gateway(), port}}) {
    if (Status s = net.ForwardToHost(address, static_cast<uint16_t>(at), static_cast<uint16_t>(port)); !s.ok()) {
      log::Warn("network: forwarding to the API", {{"address", address}, {"error", s.ToString()}});
      return 0;
    }
  }
  return static_cast<uint16_t>(port);
}

// The workloads' subnet: a /22 (1,022 tasks) of 10.128.0.0/9 picked by the
// data dir's hash `tag`, so appliances sharing a machine get disjoint ones;
// a /22 another interface already has an address in (another appliance's
// bridge, the site's LAN) is skipped for the next. `bridge` may hold one:
// its own, from an earlier start.
std::string TaskSubnet(const std::string& tag, const std::string& bridge) {
  std::vector<std::pair<uint32_t, std::string>> used;  // host-order address, interface
  if (ifaddrs* list = nullptr; ::getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
      used.emplace_back(ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr), i->ifa_name);
    }
    ::freeifaddrs(list);
  }
  unsigned first = static_cast<unsigned>(std::stoul(tag.substr(0, 4), nullptr, 16)) % 8192;  // 2^13 /22s in a /9
  for (unsigned k = 0; k < 8192; ++k) {
    unsigned slot = (first + k) % 8192;
    uint32_t base = (10u << 24) | (128u << 16) | (slot << 10);
    bool ours = false, taken = false;
    for (const auto& [address, name] : used) {
      if ((address & ~0x3FFu) != base) continue;
      (name == bridge ? ours : taken) = true;
    }
    if (ours || !taken) {
      return "10." + std::to_string((base >> 16) & 255) + "." + std::to_string((base >> 8) & 255) + ".0/22";
    }
  }
  return "10.128.0.0/22";  // every slot in use: Open reports the clash
}

// The port of a HOST:PORT listen address, or 0.
uint16_t PortOf(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
  return port > 0 && port <= 65535 ? static_cast<uint16_t>(port) : 0;
}

}  // namespace

WorkloadNetworkSetup OpenWorkloadNetwork(const Config& config, const std::string& data_dir_path, bool have_workloads) {
  WorkloadNetworkSetup out;
  out.appliance_ports = {22};
  for (const std::string& address : config.tls_listen) {
    if (uint16_t port = PortOf(address)) out.appliance_ports.push_back(port);
  }
  if (uint16_t port = PortOf(config.listen)) out.appliance_ports.push_back(port);
  if (!have_workloads) return out;
  std::string tag = crypto::Sha256Hex(data_dir_path);
  network::WorkloadNetworkOptions net;
  net.data_dir = os::JoinPath(config.data_dir, "network");
  net.bridge = "annex" + tag.substr(0, 8);
  net.nft_table = "annex_" + tag.substr(0, 8);
  net.subnet = TaskSubnet(tag, net.bridge);
  net.reserved_ports = out.appliance_ports;
  auto network = std::make_unique<network::WorkloadNetwork>(net);
  if (Status s = network->Open(); !s.ok()) {
    out.note = "workload network unavailable: " + s.message();
    log::Warn("network", {{"detail", out.note}});
    return out;
  }
  log::Info("network", {{"bridge", net.bridge}, {"subnet", net.subnet}});
  out.api_port = ForwardApiToWorkloads(*network, config.listen);
  out.network = std::move(network);
  return out;
}

}  // namespace annex::daemon
