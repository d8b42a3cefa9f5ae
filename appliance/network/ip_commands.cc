#include "appliance/network/ip_commands.h"

#include "appliance/core/strings.h"

namespace annex::network {

bool IpCommands::LinkExists(const std::string& name) {
  Result<CommandOutput> out = runner_.Run({"ip", "link", "show", "dev", name});
  return out.ok() && out->ok();
}

Status IpCommands::EnsureBridge(const std::string& name, const std::string& address_cidr) {
  if (!LinkExists(name)) {
    Status s = RunChecked(runner_, {"ip", "link", "add", "name", name, "type", "bridge"});
    // Lost a race with another creator: fine as long as it now exists.
    if (!s.ok() && !LinkExists(name)) return s;
  }
  ANNEX_RETURN_IF_ERROR(EnsureAddress(name, address_cidr));
  return RunChecked(runner_, {"ip", "link", "set", "dev", name, "up"});
}

Status IpCommands::EnsureAddress(const std::string& dev, const std::string& address_cidr) {
  // "replace" adds the address or leaves the existing one as it is.
  return RunChecked(runner_, {"ip", "addr", "replace", address_cidr, "dev", dev});
}

Status IpCommands::DeleteLink(const std::string& name) {
  Status s = RunChecked(runner_, {"ip", "link", "del", "dev", name});
  if (s.ok() || !LinkExists(name)) return Status::OK();
  return s;
}

Result<std::set<std::string>> IpCommands::ListNamespaces() {
  ANNEX_ASSIGN_OR_RETURN(CommandOutput out, runner_.Run({"ip", "netns", "list"}));
  if (!out.ok()) return Status::Internal("ip netns list: " + std::string(Trim(out.err)));
  // Each line is "<name>" or "<name> (id: N)".
  std::set<std::string> names;
  for (std::string_view line : Split(out.out, '\n')) {
    line = Trim(line);
    if (line.empty()) continue;
    names.emplace(line.substr(0, line.find(' ')));
  }
  return names;
}

Status IpCommands::AddNamespace(const std::string& netns) {
  return RunChecked(runner_, {"ip", "netns", "add", netns});
}

Status IpCommands::DeleteNamespace(const std::string& netns) {
  Status s = RunChecked(runner_, {"ip", "netns", "del", netns});
  if (s.ok()) return s;
  Result<std::set<std::string>> names = ListNamespaces();
  if (names.ok() && names->count(netns) == 0) return Status::OK();
  return s;
}

Status IpCommands::AddVethPair(const std::string& host_end, const std::string& bridge, const std::string& netns) {
  // One command: the workload's end is born inside its namespace, so no
  // temporary name in the host's namespace can clash with another's.
  return RunChecked(runner_, {"ip", "link", "add", "name", host_end, "master", bridge, "up", "type", "veth", "peer",
                              "name", "eth0", "netns", netns});
}

Status IpCommands::SetMaster(const std::string& link, const std::string& bridge) {
  return RunChecked(runner_, {"ip", "link", "set", "dev", link, "master", bridge, "up"});
}

Status IpCommands::ConfigureWorkloadSide(const std::string& netns, const std::string& address_cidr,
                                         const std::string& gateway) {
  ANNEX_RETURN_IF_ERROR(RunChecked(runner_, {"ip", "-n", netns, "link", "set", "dev", "lo", "up"}));
  ANNEX_RETURN_IF_ERROR(RunChecked(runner_, {"ip", "-n", netns, "addr", "replace", address_cidr, "dev", "eth0"}));
  ANNEX_RETURN_IF_ERROR(RunChecked(runner_, {"ip", "-n", netns, "link", "set", "dev", "eth0", "up"}));
  return RunChecked(runner_, {"ip", "-n", netns, "route", "replace", "default", "via", gateway, "dev", "eth0"});
}

}  // namespace annex::network
