#include "appliance/network/address_pool.h"

namespace annex::network {

Result<Ipv4Address> AddressPool::Allocate() {
  uint32_t last = subnet_.HostCount();
  if (used_.size() >= capacity()) {
    return Status::ResourceExhausted("no free address left in " + subnet_.ToString());
  }
  uint32_t n = cursor_ < kFirstHost || cursor_ > last ? kFirstHost : cursor_;
  while (used_.count(n)) n = n == last ? kFirstHost : n + 1;
  used_.insert(n);
  cursor_ = n == last ? kFirstHost : n + 1;
  return subnet_.Host(n);
}

Status AddressPool::Reserve(Ipv4Address address) {
  uint32_t n = address.value - subnet_.network().value;
  if (!subnet_.Contains(address) || n < kFirstHost || n > subnet_.HostCount()) {
    return Status::InvalidArgument(address.ToString() + " is not a workload address of " + subnet_.ToString());
  }
  if (!used_.insert(n).second) return Status::AlreadyExists(address.ToString() + " is already in use");
  return Status::OK();
}

void AddressPool::Release(Ipv4Address address) {
  if (subnet_.Contains(address)) used_.erase(address.value - subnet_.network().value);
}

bool AddressPool::InUse(Ipv4Address address) const {
  return subnet_.Contains(address) && used_.count(address.value - subnet_.network().value) > 0;
}

}  // namespace annex::network
