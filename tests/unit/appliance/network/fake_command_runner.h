#pragma once
// FakeCommandRunner: a host in memory for WorkloadNetwork's unit tests. It
// understands the ip(8)/nft(8) commands the network issues — links, bridges,
// veth pairs, named namespaces, addresses, nft tables — so tests can check
// what exists after each call, and it fails commands on cue.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "appliance/os/command_runner.h"

namespace annex::network::testing {

using os::CommandOutput;
using os::CommandLine;
using os::CommandRunner;

class FakeCommandRunner : public CommandRunner {
 public:
  struct Link {
    std::string kind;    // "bridge", "veth"
    std::string master;  // bridge it is on
    bool up = false;
    std::string peer_netns;  // veth: where its eth0 end lives
  };
  struct Netns {
    std::set<std::string> links = {"lo"};
    std::set<std::string> addresses;  // on eth0
    std::string default_via;
  };

  // Commands whose line starts with `prefix` fail (exit 1) — the next
  // `times` of them, or all when times < 0.
  void FailCommand(const std::string& prefix, int times = -1);
  void ClearFailures();

  // CommandRunner
  Result<CommandOutput> Run(const std::vector<std::string>& argv, std::string_view input) override;
  Status WriteSysctl(std::string_view key, std::string_view value) override;
  using CommandRunner::Run;

  // What exists on the fake host.
  bool HasLink(const std::string& name) const;
  bool HasNetns(const std::string& name) const;
  Link GetLink(const std::string& name) const;
  Netns GetNetns(const std::string& name) const;
  std::set<std::string> Addresses(const std::string& dev) const;
  // The script that made `table` ("" when it does not exist).
  std::string NftTable(const std::string& table) const;
  std::string Sysctl(const std::string& key) const;
  std::vector<std::string> commands() const;
  size_t LinkCount() const;
  size_t NetnsCount() const;

  // Side doors for tests that stage a host (a reboot, an external deletion).
  void RemoveNetns(const std::string& name);
  void RemoveLink(const std::string& name);

 private:
  CommandOutput Ip(const std::vector<std::string>& a);
  CommandOutput IpLink(const std::vector<std::string>& a);
  CommandOutput IpInNetns(const std::vector<std::string>& a);
  CommandOutput Nft(std::string_view input);
  bool ShouldFail(const std::string& line);

  mutable std::mutex mu_;
  std::map<std::string, Link> links_;
  std::map<std::string, std::set<std::string>> addresses_;
  std::map<std::string, Netns> netns_;
  std::map<std::string, std::string> tables_;
  std::map<std::string, std::string> sysctls_;
  std::vector<std::pair<std::string, int>> failures_;
  std::vector<std::string> commands_;
};

}  // namespace annex::network::testing
