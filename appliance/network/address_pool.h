#pragma once
// AddressPool: which of a subnet's addresses are handed out. Host 1 is the
// gateway; workloads get hosts 2 and up. Allocation is next-fit from a
// cursor, so an address freed by one workload is the last to be handed to
// the next — stale ARP and conntrack entries for it have time to expire.
//
// Not thread-safe; its owner locks.

#include <cstdint>
#include <set>

#include "appliance/core/result.h"
#include "appliance/network/ipv4.h"

namespace annex::network {

class AddressPool {
 public:
  explicit AddressPool(Ipv4Subnet subnet) : subnet_(subnet) {}

  // The next free address; ResourceExhausted when every one is taken.
  Result<Ipv4Address> Allocate();
  // Marks `address` taken (restoring persisted state). InvalidArgument when
  // it is not a workload address of the subnet, AlreadyExists when taken.
  Status Reserve(Ipv4Address address);
  // Frees `address`; freeing a free address does nothing.
  void Release(Ipv4Address address);
  bool InUse(Ipv4Address address) const;
  size_t used() const { return used_.size(); }
  // Workload addresses in the subnet (all hosts but the gateway).
  uint32_t capacity() const { return subnet_.HostCount() - 1; }

  // The host number the next search starts from; persisted so a restart
  // does not hand out a just-freed address first.
  uint32_t cursor() const { return cursor_; }
  void set_cursor(uint32_t cursor) { cursor_ = cursor; }

 private:
  static constexpr uint32_t kFirstHost = 2;  // 1 is the gateway
  Ipv4Subnet subnet_;
  std::set<uint32_t> used_;  // host numbers
  uint32_t cursor_ = kFirstHost;
};

}  // namespace annex::network
