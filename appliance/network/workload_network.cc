#include "appliance/network/workload_network.h"

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/os/host_command_runner.h"
#include "appliance/network/nat_table.h"

namespace annex::network {
namespace {

constexpr char kStateFile[] = "network.state";
constexpr char kNetnsDir[] = "/run/netns/";
constexpr size_t kMaxIdLength = 256;
// Ids up to this long made of [A-Za-z0-9-] name their namespace directly
// (readable in `ip netns list`); others by a hash, under a prefix that no
// direct name can have.
constexpr size_t kMaxDirectNameId = 64;
constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

bool IsNameChar(char c) { return IsUriUnreserved(static_cast<unsigned char>(c)) && c != '.' && c != '~'; }

bool IsSafeName(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

CommandRunner& RunnerOf(const WorkloadNetworkOptions& options, std::unique_ptr<CommandRunner>& owned) {
  if (options.runner) return *options.runner;
  owned = std::make_unique<os::HostCommandRunner>();
  return *owned;
}

}  // namespace

WorkloadNetwork::WorkloadNetwork(WorkloadNetworkOptions options)
    : options_(std::move(options)),
      runner_(RunnerOf(options_, owned_runner_)),
      fs_(options_.fs ? *options_.fs : os::PosixFileSystem()),
      ip_(runner_) {}

WorkloadNetwork::~WorkloadNetwork() = default;

std::string WorkloadNetwork::StatePath() const { return os::JoinPath(options_.data_dir, kStateFile); }

std::string WorkloadNetwork::gateway() const {
  std::lock_guard lock(mu_);
  return subnet_.Gateway().ToString();
}

Status WorkloadNetwork::ValidateOptions() const {
  if (options_.data_dir.empty()) return Status::InvalidArgument("workload network: data_dir is required");
  if (!IsSafeName(options_.bridge, kMaxInterfaceName)) {
    return Status::InvalidArgument("bridge name must be 1-15 characters of [A-Za-z0-9_-]: " + options_.bridge);
  }
  if (!IsSafeName(options_.nft_table, 64)) {
    return Status::InvalidArgument("nft table name must be [A-Za-z0-9_-]: " + options_.nft_table);
  }
  if (options_.first_ephemeral_port == 0 || options_.first_ephemeral_port > options_.last_ephemeral_port) {
    return Status::InvalidArgument("bad ephemeral port range");
  }
  Result<Ipv4Subnet> subnet = Ipv4Subnet::Parse(options_.subnet);
  return subnet.ok() ? Status::OK() : subnet.status();
}

Status WorkloadNetwork::CheckOpenLocked() const {
  return open_ ? Status::OK() : Status::FailedPrecondition("workload network is not open");
}

Status WorkloadNetwork::LoadState(NetworkState& state) {
  // Temp files of a write a crash interrupted are never the state.
  if (auto names = fs_.ListDir(options_.data_dir); names.ok()) {
    for (const std::string& name : *names) {
      if (StartsWith(name, std::string(kStateFile) + ".tmp-")) {
        fs_.Remove(os::JoinPath(options_.data_dir, name)).IgnoreError();
      }
    }
  }
  if (!fs_.Exists(StatePath())) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(std::string bytes, os::ReadFileToString(fs_, StatePath()));
  ANNEX_ASSIGN_OR_RETURN(state, DecodeNetworkState(bytes));
  return Status::OK();
}

Status WorkloadNetwork::SaveLocked() {
  NetworkState state;
  state.bridge = options_.bridge;
  state.subnet = subnet_.ToString();
  state.address_cursor = pool_->cursor();
  for (const auto& [id, record] : attachments_) state.attachments.push_back(record);
  return os::WriteFileAtomic(fs_, StatePath(), EncodeNetworkState(state), 0600);
}

Status WorkloadNetwork::Open() {
  std::lock_guard lock(mu_);
  open_ = false;
  ANNEX_RETURN_IF_ERROR(ValidateOptions());
  subnet_ = Ipv4Subnet::Parse(options_.subnet).value();
  ANNEX_RETURN_IF_ERROR(fs_.CreateDirs(options_.data_dir));
  NetworkState state;
  ANNEX_RETURN_IF_ERROR(LoadState(state));
  if (!state.attachments.empty() && (state.bridge != options_.bridge || state.subnet != subnet_.ToString())) {
    return Status::FailedPrecondition("workload network state in " + options_.data_dir + " is for bridge " +
                                      state.bridge + " and subnet " + state.subnet +
                                      "; detach its workloads before changing either");
  }
  pool_ = std::make_unique<AddressPool>(subnet_);
  pool_->set_cursor(state.address_cursor);
  attachments_.clear();
  ANNEX_RETURN_IF_ERROR(SetUpHostLocked());
  ANNEX_RETURN_IF_ERROR(ReadoptLocked(std::move(state.attachments)));
  ANNEX_RETURN_IF_ERROR(ApplyNatLocked());
  ANNEX_RETURN_IF_ERROR(SaveLocked());
  open_ = true;
  return Status::OK();
}

Status WorkloadNetwork::SetUpHostLocked() {
  std::string gateway_cidr = subnet_.Gateway().ToString() + "/" + std::to_string(subnet_.prefix_len());
  ANNEX_RETURN_IF_ERROR(ip_.EnsureBridge(options_.bridge, gateway_cidr));
  ANNEX_RETURN_IF_ERROR(runner_.WriteSysctl("net/ipv4/ip_forward", "1"));
  // Lets the host's own 127.0.0.1:<published port> be DNATed onto the bridge;
  // the kernel otherwise drops a loopback source on a non-loopback device.
  return runner_.WriteSysctl("net/ipv4/conf/" + options_.bridge + "/route_localnet", "1");
}

Status WorkloadNetwork::ReadoptLocked(std::vector<AttachmentRecord> records) {
  ANNEX_ASSIGN_OR_RETURN(std::set<std::string> namespaces, ip_.ListNamespaces());
  for (AttachmentRecord& record : records) {
    // Half-made (a crash during Attach) or gone (a reboot): nothing to keep.
    bool keep = record.ready && namespaces.count(record.netns) > 0;
    // The bridge may be new (deleted by hand, or after a reboot with /run
    // kept): the host end must be on it again.
    if (keep) keep = ip_.SetMaster(record.veth, options_.bridge).ok();
    if (keep) keep = pool_->Reserve(record.address).ok();
    if (!keep) {
      UnplumbLocked(record);
      continue;
    }
    std::string id = record.id;
    attachments_.emplace(std::move(id), std::move(record));
  }
  return Status::OK();
}

std::string WorkloadNetwork::NetnsNameFor(const std::string& id) const {
  if (IsSafeName(id, kMaxDirectNameId) && id.find('_') == std::string::npos) return "annex-" + id;
  return "annex_" + crypto::Sha256Hex(id).substr(0, 24);
}

Status WorkloadNetwork::PlumbLocked(const AttachmentRecord& record) {
  // Undo only what this call made: a namespace that already existed is
  // someone else's.
  ANNEX_RETURN_IF_ERROR(ip_.AddNamespace(record.netns));
  Status s = ip_.AddVethPair(record.veth, options_.bridge, record.netns);
  if (s.ok()) {
    s = ip_.ConfigureWorkloadSide(record.netns,
                                  record.address.ToString() + "/" + std::to_string(subnet_.prefix_len()),
                                  subnet_.Gateway().ToString());
  }
  if (!s.ok()) UnplumbLocked(record);
  return s;
}

void WorkloadNetwork::UnplumbLocked(const AttachmentRecord& record) {
  // Deleting the host end removes the pair even while a process still holds
  // the namespace open.
  ip_.DeleteLink(record.veth).IgnoreError();
  ip_.DeleteNamespace(record.netns).IgnoreError();
}

Result<Attachment> WorkloadNetwork::Attach(const std::string& id) {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  if (id.empty() || id.size() > kMaxIdLength || id.find('\0') != std::string::npos) {
    return Status::InvalidArgument("workload id must be 1-256 bytes");
  }
  if (auto it = attachments_.find(id); it != attachments_.end()) return ToAttachment(it->second);
  std::string netns = NetnsNameFor(id);
  for (const auto& [other, record] : attachments_) {
    if (record.netns == netns) return Status::Internal("namespace name " + netns + " clashes with " + other);
  }
  ANNEX_ASSIGN_OR_RETURN(Ipv4Address address, pool_->Allocate());
  AttachmentRecord record{id, netns, "annex" + address.ToHex(), address, false, {}};
  auto forget = [&](Status s) {
    attachments_.erase(id);
    pool_->Release(address);
    // If this save fails too, the record stays on disk as not ready and the
    // next Open removes it.
    SaveLocked().IgnoreError();
    return s;
  };
  // Recorded before anything exists on the host, so a crash leaves nothing
  // unknown behind.
  attachments_[id] = record;
  if (Status s = SaveLocked(); !s.ok()) return forget(s);
  if (Status s = PlumbLocked(record); !s.ok()) return forget(s);
  attachments_[id].ready = true;
  if (Status s = SaveLocked(); !s.ok()) {
    UnplumbLocked(record);
    return forget(s);
  }
  return ToAttachment(attachments_[id]);
}

Status WorkloadNetwork::Detach(const std::string& id) {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = attachments_.find(id);
  if (it == attachments_.end()) return Status::OK();
  AttachmentRecord& record = it->second;
  if (!record.ports.empty()) {
    std::vector<PortBinding> ports = std::move(record.ports);
    record.ports.clear();
    if (Status s = ApplyNatLocked(); !s.ok()) {
      record.ports = std::move(ports);
      return s;
    }
  }
  Status s = ip_.DeleteLink(record.veth);
  if (s.ok()) s = ip_.DeleteNamespace(record.netns);
  if (!s.ok()) {
    SaveLocked().IgnoreError();  // keeps the unpublished ports unpublished
    return s;
  }
  pool_->Release(record.address);
  attachments_.erase(it);
  return SaveLocked();
}

Attachment WorkloadNetwork::ToAttachment(const AttachmentRecord& record) const {
  Attachment a;
  a.id = record.id;
  a.netns_name = record.netns;
  a.netns_path = kNetnsDir + record.netns;
  a.host_veth = record.veth;
  a.ipv4 = record.address.ToString();
  a.prefix_len = subnet_.prefix_len();
  a.gateway = subnet_.Gateway().ToString();
  a.ports = record.ports;
  return a;
}

Result<Attachment> WorkloadNetwork::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = attachments_.find(id);
  if (it == attachments_.end()) return Status::NotFound("no network attachment for " + id);
  return ToAttachment(it->second);
}

std::vector<Attachment> WorkloadNetwork::List() const {
  std::lock_guard lock(mu_);
  std::vector<Attachment> out;
  for (const auto& [id, record] : attachments_) out.push_back(ToAttachment(record));
  return out;
}

Status WorkloadNetwork::AddServiceAddress(std::string_view ipv4) {
  std::lock_guard lock(mu_);
  ANNEX_RETURN_IF_ERROR(CheckOpenLocked());
  std::optional<Ipv4Address> address = Ipv4Address::Parse(ipv4);
  if (!address) return Status::InvalidArgument("not an IPv4 address: " + std::string(ipv4));
  if (subnet_.Contains(*address)) {
    return Status::InvalidArgument(std::string(ipv4) + " is inside the workload subnet " + subnet_.ToString());
  }
  return ip_.EnsureAddress(options_.bridge, address->ToString() + "/32");
}

Status WorkloadNetwork::Destroy() {
  std::lock_guard lock(mu_);
  if (!open_) {
    ANNEX_RETURN_IF_ERROR(ValidateOptions());
    NetworkState state;
    if (LoadState(state).ok()) {
      for (const AttachmentRecord& record : state.attachments) UnplumbLocked(record);
    }
  }
  for (const auto& [id, record] : attachments_) UnplumbLocked(record);
  attachments_.clear();
  open_ = false;
  Status s = RunChecked(runner_, {"nft", "-f", "-"}, RenderNatTableRemoval(options_.nft_table));
  Status b = ip_.DeleteLink(options_.bridge);
  if (s.ok()) s = b;
  if (fs_.Exists(StatePath())) {
    Status r = fs_.Remove(StatePath());
    if (s.ok()) s = r;
  }
  return s;
}

}  // namespace annex::network
