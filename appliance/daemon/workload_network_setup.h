#pragma once
// The workloads' bridge network as the daemon opens it: bridge, nft table
// and subnet of the data dir's own (like its cgroup subtree), so two
// appliances on one machine (tests beside a developer's) never share or
// rewrite each other's; the appliance's own ports reserved; annexd's API and
// ECS's task endpoint forwarded to the workloads.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "appliance/daemon/config.h"
#include "appliance/network/workload_network.h"

namespace annex::daemon {

struct WorkloadNetworkSetup {
  std::unique_ptr<network::WorkloadNetwork> network;  // null without workloads or when it failed
  uint16_t api_port = 0;                   // the API port workloads reach at their gateway; 0: none
  std::vector<uint16_t> appliance_ports;   // never published to a workload
  std::string note;                        // why there is no network, for the health line
};

// `data_dir_path`: the data dir, canonical (its hash names everything).
// `have_workloads`: the supervisor runs (annexd is root).
WorkloadNetworkSetup OpenWorkloadNetwork(const Config& config, const std::string& data_dir_path, bool have_workloads);

}  // namespace annex::daemon
