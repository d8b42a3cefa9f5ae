#include "appliance/network/attachment.h"

#include "appliance/core/strings.h"

namespace annex::network {

std::string_view ProtocolName(Protocol protocol) { return protocol == Protocol::kUdp ? "udp" : "tcp"; }

std::optional<Protocol> ParseProtocol(std::string_view name) {
  if (EqualsIgnoreCase(name, "tcp")) return Protocol::kTcp;
  if (EqualsIgnoreCase(name, "udp")) return Protocol::kUdp;
  return std::nullopt;
}

}  // namespace annex::network
