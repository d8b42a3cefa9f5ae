#include "appliance/network/ipv4.h"

#include <cstdio>

#include "appliance/core/strings.h"

namespace annex::network {

std::optional<Ipv4Address> Ipv4Address::Parse(std::string_view text) {
  std::vector<std::string_view> parts = Split(text, '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t value = 0;
  for (std::string_view p : parts) {
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return std::nullopt;
    std::optional<uint64_t> octet = ParseUint(p);
    if (!octet || *octet > 255) return std::nullopt;
    value = (value << 8) | static_cast<uint32_t>(*octet);
  }
  return Ipv4Address{value};
}

std::string Ipv4Address::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", value >> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255);
  return buf;
}

std::string Ipv4Address::ToHex() const {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", value);
  return buf;
}

Result<Ipv4Subnet> Ipv4Subnet::Parse(std::string_view cidr) {
  size_t slash = cidr.find('/');
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("subnet " + std::string(cidr) + ": " + std::string(why));
  };
  if (slash == std::string_view::npos) return bad("expected a.b.c.d/len");
  std::optional<Ipv4Address> address = Ipv4Address::Parse(cidr.substr(0, slash));
  std::optional<uint64_t> len = ParseUint(cidr.substr(slash + 1));
  if (!address || !len) return bad("expected a.b.c.d/len");
  if (*len < 8 || *len > 30) return bad("prefix length must be 8..30");
  Ipv4Subnet subnet;
  subnet.network_ = *address;
  subnet.prefix_len_ = static_cast<int>(*len);
  if ((address->value & subnet.Mask()) != address->value) return bad("host bits set");
  return subnet;
}

std::string Ipv4Subnet::ToString() const { return network_.ToString() + "/" + std::to_string(prefix_len_); }

}  // namespace annex::network
