#pragma once
// WorkloadNetwork: the host network workloads (ECS tasks, later function
// sandboxes) get, as in one VPC subnet: a Linux bridge with the subnet's
// first address as gateway, one network namespace per workload wired to it
// by a veth pair, NAT to the outside, and host ports published to workloads.
//
// Each workload's namespace holds only its lo and eth0; workloads reach each
// other over the bridge, the outside through masquerade, and appliance
// endpoints (the ECS metadata/credentials address 169.254.170.2) at service
// addresses on the bridge. Everything on the host goes through a
// CommandRunner (ip, nft, sysctl) so failure paths are testable.
//
// State (attachments, addresses, published ports) lives in a file in
// data_dir, rewritten atomically on every change; Open() re-adopts what a
// previous annexd made — workloads keep their network across an annexd
// restart — and removes what a crash left half-made or what vanished
// meanwhile (a reboot empties /run/netns).
//
// Thread-safe: one mutex serialises all calls (each is a few ip/nft runs).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/network/address_pool.h"
#include "appliance/network/attachment.h"
#include "appliance/os/command_runner.h"
#include "appliance/network/ip_commands.h"
#include "appliance/network/ipv4.h"
#include "appliance/network/nat_table.h"
#include "appliance/network/network_state.h"
#include "appliance/os/file_system.h"

namespace annex::network {

using os::CommandLine;
using os::CommandOutput;
using os::CommandRunner;
using os::RunChecked;

struct WorkloadNetworkOptions {
  std::string data_dir;                  // holds the state file
  std::string bridge = "annex0";         // ≤ 15 characters: [A-Za-z0-9_-]
  std::string subnet = "172.30.0.0/16";  // gateway: its first host
  std::string nft_table = "annex";       // `table ip <nft_table>`, owned whole
  // Where host_port 0 picks from (above the well-known/registered ports).
  uint16_t first_ephemeral_port = 49153;
  uint16_t last_ephemeral_port = 65535;
  // Host ports never published (annexd's own listeners, SSH): a workload
  // must not take over the appliance's API by publishing its port.
  std::vector<uint16_t> reserved_ports;
  // Not owned; null means a HostCommandRunner the network owns.
  CommandRunner* runner = nullptr;
  // Not owned; null means the POSIX file system.
  os::FileSystem* fs = nullptr;
};

class WorkloadNetwork {
 public:
  explicit WorkloadNetwork(WorkloadNetworkOptions options);
  ~WorkloadNetwork();
  WorkloadNetwork(const WorkloadNetwork&) = delete;
  WorkloadNetwork& operator=(const WorkloadNetwork&) = delete;

  // Sets up the host side (bridge, gateway address, ip_forward, route_localnet
  // on the bridge, the nft table) and re-adopts persisted attachments,
  // dropping those whose namespace is gone or that a crash left half-made.
  // InvalidArgument for bad options; FailedPrecondition when the persisted
  // attachments were made for another bridge or subnet. Must succeed before
  // any other call (they fail with FailedPrecondition until then).
  Status Open();

  // Gives workload `id` its namespace, veth pair and address. An id already
  // attached gets its existing attachment back. On failure nothing it made
  // is left behind. ResourceExhausted when the subnet is full.
  Result<Attachment> Attach(const std::string& id);
  // Unpublishes its ports and removes its namespace and veth pair; its
  // address becomes free. OK for an id that is not attached.
  Status Detach(const std::string& id);

  // Publishes host ports to the workload (all or none): connections to
  // any local address on host_port reach container_port inside it. Returns
  // the bindings, in request order, with chosen host ports filled in.
  // NotFound for an unknown id; AlreadyExists for a host port published
  // already (unless to this workload's same port: then it is returned as is);
  // ResourceExhausted when no ephemeral port is left.
  Result<std::vector<PortBinding>> PublishPorts(const std::string& id, const std::vector<PortRequest>& ports);
  // Removes every port published to `id`; NotFound for an unknown id.
  Status UnpublishPorts(const std::string& id);

  // NotFound when `id` is not attached.
  Result<Attachment> Find(const std::string& id) const;
  // Every attachment, by id.
  std::vector<Attachment> List() const;

  // Adds `ipv4` (e.g. "169.254.170.2") to the bridge as a /32, so annexd
  // can listen there and every workload reaches it via its default route.
  // Idempotent; not persisted (the owner adds it after each Open).
  Status AddServiceAddress(std::string_view ipv4);

  // Lets every workload reach annexd's loopback listener 127.0.0.1:`host_port`
  // at `ipv4`:`port` (ECS's task endpoint 169.254.170.2:80, the gateway's API
  // port): a DNAT from the bridge. Idempotent; not persisted (the owner adds
  // it after each Open).
  Status ForwardToHost(std::string_view ipv4, uint16_t port, uint16_t host_port);

  // Removes everything this network made on the host — every attachment,
  // the nft table, the bridge — and its state file. For uninstall and tests.
  Status Destroy();

  const std::string& bridge() const { return options_.bridge; }
  // The gateway (bridge) address, e.g. "172.30.0.1"; meaningful after Open().
  std::string gateway() const;

 private:
  Status ValidateOptions() const;
  Status LoadState(NetworkState& state);
  Status SaveLocked();
  Status SetUpHostLocked();
  Status ReadoptLocked(std::vector<AttachmentRecord> records);
  Status ApplyNatLocked();
  Status CheckOpenLocked() const;
  std::string NetnsNameFor(const std::string& id) const;
  Status PlumbLocked(const AttachmentRecord& record);
  void UnplumbLocked(const AttachmentRecord& record);
  Attachment ToAttachment(const AttachmentRecord& record) const;
  Result<PortBinding> BindLocked(const AttachmentRecord& record, const PortRequest& request,
                                 const std::vector<PortBinding>& taken);
  bool HostPortTaken(Protocol protocol, uint16_t port, const std::vector<PortBinding>& extra) const;
  std::string StatePath() const;

  WorkloadNetworkOptions options_;
  std::unique_ptr<CommandRunner> owned_runner_;
  CommandRunner& runner_;
  os::FileSystem& fs_;
  IpCommands ip_;

  mutable std::mutex mu_;
  bool open_ = false;                              // guarded by mu_
  Ipv4Subnet subnet_;                              // set by Open
  std::unique_ptr<AddressPool> pool_;              // guarded by mu_
  std::map<std::string, AttachmentRecord> attachments_;  // by id; guarded by mu_
  uint16_t port_cursor_ = 0;                       // next ephemeral port to try; guarded by mu_
  std::vector<HostEndpoint> endpoints_;            // guarded by mu_
};

}  // namespace annex::network
