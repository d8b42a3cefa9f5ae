#include "appliance/network/network_state.h"

#include "appliance/store/record.h"

namespace annex::network {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint64_t kMaxAttachments = 1 << 20;
constexpr uint64_t kMaxPorts = 65536 * 2;

void EncodeRecord(store::RecordWriter& w, const AttachmentRecord& r) {
  w.Bytes(r.id).Bytes(r.netns).Bytes(r.veth).U64(r.address.value).Bool(r.ready);
  w.U64(r.ports.size());
  for (const PortBinding& p : r.ports) {
    w.U64(p.protocol == Protocol::kUdp ? 1 : 0).U64(p.container_port).U64(p.host_port);
  }
}

Result<uint16_t> Port(store::RecordReader& r) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t v, r.U64());
  if (v == 0 || v > 65535) return Status::Corruption("bad port in network state");
  return static_cast<uint16_t>(v);
}

Result<AttachmentRecord> DecodeRecord(store::RecordReader& r) {
  AttachmentRecord a;
  ANNEX_ASSIGN_OR_RETURN(a.id, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(a.netns, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(a.veth, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(uint64_t address, r.U64());
  if (address > UINT32_MAX) return Status::Corruption("bad address in network state");
  a.address.value = static_cast<uint32_t>(address);
  ANNEX_ASSIGN_OR_RETURN(a.ready, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(uint64_t ports, r.U64());
  if (ports > kMaxPorts) return Status::Corruption("implausible port count in network state");
  for (uint64_t i = 0; i < ports; ++i) {
    PortBinding p;
    ANNEX_ASSIGN_OR_RETURN(uint64_t protocol, r.U64());
    if (protocol > 1) return Status::Corruption("bad protocol in network state");
    p.protocol = protocol == 1 ? Protocol::kUdp : Protocol::kTcp;
    ANNEX_ASSIGN_OR_RETURN(p.container_port, Port(r));
    ANNEX_ASSIGN_OR_RETURN(p.host_port, Port(r));
    a.ports.push_back(p);
  }
  return a;
}

}  // namespace

std::string EncodeNetworkState(const NetworkState& state) {
  store::RecordWriter w(kVersion);
  w.Bytes(state.bridge).Bytes(state.subnet).U64(state.address_cursor);
  w.U64(state.attachments.size());
  for (const AttachmentRecord& r : state.attachments) EncodeRecord(w, r);
  return w.Finish();
}

Result<NetworkState> DecodeNetworkState(std::string_view bytes) {
  store::RecordReader r(bytes);
  if (r.version() != kVersion) return Status::Corruption("unknown network state version");
  NetworkState state;
  ANNEX_ASSIGN_OR_RETURN(state.bridge, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(state.subnet, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(uint64_t cursor, r.U64());
  if (cursor > UINT32_MAX) return Status::Corruption("bad address cursor in network state");
  state.address_cursor = static_cast<uint32_t>(cursor);
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  if (n > kMaxAttachments) return Status::Corruption("implausible attachment count in network state");
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(AttachmentRecord a, DecodeRecord(r));
    state.attachments.push_back(std::move(a));
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return state;
}

}  // namespace annex::network
