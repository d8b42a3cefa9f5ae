// WorkloadNetwork's published ports: choosing host ports and keeping the nft
// table in step with the attachments.

#include "appliance/network/nat_table.h"
#include "appliance/network/workload_network.h"

namespace annex::network {
namespace {

bool Same(const PortBinding& b, Protocol protocol, uint16_t host_port) {
  return b.protocol == protocol && b.host_port == host_port;
}

}  // namespace

Status WorkloadNetwork::ApplyNatLocked() {
  NatTableSpec spec{options_.nft_table, options_.bridge, subnet_, {}, endpoints_};
  for (const auto& [id, record] : attachments_) {
    for (const PortBinding& b : record.ports) spec.rules.push_back({b, record.address});
  }
  return RunChecked(runner_, {"nft", "-f", "-"}, RenderNatTable(spec));
}

Status WorkloadNetwork::ForwardToHost(std::string_view ipv4, uint16_t port, uint16_t host_port) {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  std::optional<Ipv4Address> address = Ipv4Address::Parse(ipv4);
  if (!address || port == 0 || host_port == 0) {
    return Status::InvalidArgument("bad host endpoint " + std::string(ipv4) + ":" + std::to_string(port));
  }
  for (const HostEndpoint& e : endpoints_) {
    if (e.address == *address && e.port == port) {
      if (e.host_port == host_port) return Status::OK();
      return Status::AlreadyExists(std::string(ipv4) + ":" + std::to_string(port) + " already leads elsewhere");
    }
  }
  endpoints_.push_back({*address, port, host_port});
  Status s = ApplyNatLocked();
  if (!s.ok()) endpoints_.pop_back();
  return s;
}

bool WorkloadNetwork::HostPortTaken(Protocol protocol, uint16_t port, const std::vector<PortBinding>& extra) const {
  for (uint16_t reserved : options_.reserved_ports) {
    if (port == reserved) return true;
  }
  for (const PortBinding& b : extra) {
    if (Same(b, protocol, port)) return true;
  }
  for (const auto& [id, record] : attachments_) {
    for (const PortBinding& b : record.ports) {
      if (Same(b, protocol, port)) return true;
    }
  }
  return false;
}

// The binding for one request; `taken` holds this call's earlier bindings.
Result<PortBinding> WorkloadNetwork::BindLocked(const AttachmentRecord& record, const PortRequest& request,
                                                const std::vector<PortBinding>& taken) {
  PortBinding binding{request.protocol, request.container_port, request.host_port};
  std::string name = std::string(ProtocolName(request.protocol)) + " port ";
  if (request.host_port != 0) {
    for (const auto* list : {&record.ports, &taken}) {
      for (const PortBinding& b : *list) {
        if (b == binding) return binding;  // a retry, or asked twice
      }
    }
    if (HostPortTaken(request.protocol, request.host_port, taken)) {
      return Status::AlreadyExists("host " + name + std::to_string(request.host_port) + " is already published");
    }
    return binding;
  }
  uint32_t first = options_.first_ephemeral_port, last = options_.last_ephemeral_port;
  uint32_t span = last - first + 1;
  uint32_t start = port_cursor_ < first || port_cursor_ > last ? first : port_cursor_;
  for (uint32_t i = 0; i < span; ++i) {
    uint32_t port = first + (start - first + i) % span;
    if (HostPortTaken(request.protocol, static_cast<uint16_t>(port), taken)) continue;
    // Round robin: a port just given up is the last to be handed out again,
    // so a client still using it does not reach a different workload.
    port_cursor_ = static_cast<uint16_t>(port == last ? first : port + 1);
    binding.host_port = static_cast<uint16_t>(port);
    return binding;
  }
  return Status::ResourceExhausted("no free host " + name + "left in " + std::to_string(first) + "-" +
                                   std::to_string(last));
}

Result<std::vector<PortBinding>> WorkloadNetwork::PublishPorts(const std::string& id,
                                                               const std::vector<PortRequest>& ports) {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = attachments_.find(id);
  if (it == attachments_.end()) return Status::NotFound("no network attachment for " + id);
  AttachmentRecord& record = it->second;
  for (const PortRequest& p : ports) {
    if (p.container_port == 0) return Status::InvalidArgument("container port must be 1-65535");
  }
  // Explicit host ports first, so a chosen one can never take a port the
  // same call asks for by number.
  std::vector<PortBinding> result(ports.size()), added;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < ports.size(); ++i) {
      if ((ports[i].host_port == 0) != (pass == 1)) continue;
      ANNEX_ASSIGN_OR_RETURN(result[i], BindLocked(record, ports[i], added));
      bool existing = false;
      for (const PortBinding& b : record.ports) existing = existing || b == result[i];
      for (const PortBinding& b : added) existing = existing || b == result[i];
      if (!existing) added.push_back(result[i]);
    }
  }
  if (added.empty()) return result;
  size_t before = record.ports.size();
  record.ports.insert(record.ports.end(), added.begin(), added.end());
  if (Status s = ApplyNatLocked(); !s.ok()) {
    record.ports.resize(before);
    return s;
  }
  if (Status s = SaveLocked(); !s.ok()) {
    record.ports.resize(before);
    ApplyNatLocked().IgnoreError();
    return s;
  }
  return result;
}

Status WorkloadNetwork::UnpublishPorts(const std::string& id) {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = attachments_.find(id);
  if (it == attachments_.end()) return Status::NotFound("no network attachment for " + id);
  AttachmentRecord& record = it->second;
  if (record.ports.empty()) return Status::OK();
  std::vector<PortBinding> ports = std::move(record.ports);
  record.ports.clear();
  Status s = ApplyNatLocked();
  if (s.ok()) s = SaveLocked();
  if (!s.ok()) {
    record.ports = std::move(ports);
    ApplyNatLocked().IgnoreError();
  }
  return s;
}

}  // namespace annex::network
