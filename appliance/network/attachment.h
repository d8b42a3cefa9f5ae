#pragma once
// Attachment: what a workload (an ECS task, a function sandbox) gets from
// the workload network — a network namespace of its own, wired to the
// bridge, with one address — and the host ports published to it.
// Values; no locking needed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace annex::network {

enum class Protocol { kTcp, kUdp };
std::string_view ProtocolName(Protocol protocol);  // "tcp", "udp"
// "tcp"/"udp" in any case.
std::optional<Protocol> ParseProtocol(std::string_view name);

// A port to publish: host_port 0 asks for a free one from the ephemeral range.
struct PortRequest {
  Protocol protocol = Protocol::kTcp;
  uint16_t container_port = 0;
  uint16_t host_port = 0;
};

// A published port: connections to any host address on host_port (including
// 127.0.0.1 from the host itself) reach the workload's container_port.
struct PortBinding {
  Protocol protocol = Protocol::kTcp;
  uint16_t container_port = 0;
  uint16_t host_port = 0;
  friend bool operator==(const PortBinding&, const PortBinding&) = default;
};

struct Attachment {
  std::string id;
  std::string netns_name;  // for ip-netns(8): "annex-<id>"
  std::string netns_path;  // what an OCI runtime joins: /run/netns/<netns_name>
  std::string host_veth;   // the bridge's end of the workload's veth pair
  std::string ipv4;        // the workload's address on eth0, "172.30.0.2"
  int prefix_len = 0;
  std::string gateway;     // the bridge's address, the workload's default route
  std::vector<PortBinding> ports;
};

}  // namespace annex::network
