#pragma once
// IpCommands: the ip(8) actions the workload network takes, each with the
// meaning its caller needs — "make sure it exists", "make sure it is gone" —
// rather than ip's own (add fails on an existing device, del on a missing one).
//
// Thread-safe as its CommandRunner is; it holds no state.

#include <set>
#include <string>

#include "appliance/core/result.h"
#include "appliance/os/command_runner.h"

namespace annex::network {

using os::CommandLine;
using os::CommandOutput;
using os::CommandRunner;
using os::RunChecked;

class IpCommands {
 public:
  explicit IpCommands(CommandRunner& runner) : runner_(runner) {}

  bool LinkExists(const std::string& name);
  // Creates the bridge unless a link of that name exists, gives it
  // `address_cidr` ("172.30.0.1/16", kept if already there) and brings it up.
  Status EnsureBridge(const std::string& name, const std::string& address_cidr);
  // Adds `address_cidr` to `dev`; no error if it is already there.
  Status EnsureAddress(const std::string& dev, const std::string& address_cidr);
  // Removes a link (a veth: both ends); OK if there is none.
  Status DeleteLink(const std::string& name);

  // Names of the host's named network namespaces (ip netns list).
  Result<std::set<std::string>> ListNamespaces();
  Status AddNamespace(const std::string& netns);
  // Unmounts the namespace's name; OK if there is none.
  Status DeleteNamespace(const std::string& netns);

  // A veth pair: `host_end` on `bridge` and up, the other end inside
  // `netns` as eth0.
  Status AddVethPair(const std::string& host_end, const std::string& bridge, const std::string& netns);
  // Puts `link` (back) on `bridge` and brings it up.
  Status SetMaster(const std::string& link, const std::string& bridge);
  // Inside `netns`: lo up, `address_cidr` on eth0, eth0 up, default route
  // via `gateway`.
  Status ConfigureWorkloadSide(const std::string& netns, const std::string& address_cidr,
                               const std::string& gateway);

 private:
  CommandRunner& runner_;
};

}  // namespace annex::network
