#pragma once
// NetworkState: what the workload network persists in its data dir so a
// restarted annexd re-adopts the namespaces, addresses and published ports
// its predecessor made. One small file, replaced atomically on each change
// (temp + fsync + rename + dir fsync).
//
// An attachment is recorded (not ready) before anything is created on the
// host and marked ready once it is complete, so whatever a crash leaves
// half-made is known and removed on the next Open.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/network/attachment.h"
#include "appliance/network/ipv4.h"

namespace annex::network {

struct AttachmentRecord {
  std::string id;
  std::string netns;  // ip-netns name
  std::string veth;   // host end of the veth pair
  Ipv4Address address;
  bool ready = false;
  std::vector<PortBinding> ports;
};

struct NetworkState {
  std::string bridge;
  std::string subnet;       // CIDR the addresses were taken from
  uint32_t address_cursor = 0;
  std::vector<AttachmentRecord> attachments;
};

std::string EncodeNetworkState(const NetworkState& state);
// Corruption on truncated, trailing or implausible bytes.
Result<NetworkState> DecodeNetworkState(std::string_view bytes);

}  // namespace annex::network
