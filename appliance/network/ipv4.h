#pragma once
// IPv4 addresses and subnets as the workload network hands them out: a
// subnet's first host is the bridge's gateway, the rest go to workloads.
// Values; no locking needed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::network {

struct Ipv4Address {
  uint32_t value = 0;  // host byte order

  // Dotted quad "172.30.0.2" only (no shorthand, no leading zeros).
  static std::optional<Ipv4Address> Parse(std::string_view text);
  std::string ToString() const;
  // 8 lowercase hex digits ("ac1e0002"): unique per address, so names built
  // from it cannot collide across networks on one host.
  std::string ToHex() const;
  friend bool operator==(Ipv4Address, Ipv4Address) = default;
  friend auto operator<=>(Ipv4Address, Ipv4Address) = default;
};

class Ipv4Subnet {
 public:
  // "172.30.0.0/16"; InvalidArgument unless host bits are zero and the prefix
  // is 8..30 (a subnet must hold a gateway and at least one workload).
  static Result<Ipv4Subnet> Parse(std::string_view cidr);

  Ipv4Address network() const { return network_; }
  int prefix_len() const { return prefix_len_; }
  std::string ToString() const;  // "172.30.0.0/16"
  bool Contains(Ipv4Address a) const { return (a.value & Mask()) == network_.value; }
  // Host number n (1 = the gateway) → address; n must be in [1, HostCount()].
  Ipv4Address Host(uint32_t n) const { return {network_.value + n}; }
  // Usable host numbers: all but the network and broadcast addresses.
  uint32_t HostCount() const { return (uint32_t{1} << (32 - prefix_len_)) - 2; }
  Ipv4Address Gateway() const { return Host(1); }

  friend bool operator==(const Ipv4Subnet&, const Ipv4Subnet&) = default;

 private:
  uint32_t Mask() const { return ~uint32_t{0} << (32 - prefix_len_); }
  Ipv4Address network_;
  int prefix_len_ = 0;
};

}  // namespace annex::network
