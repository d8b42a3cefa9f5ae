#include "tests/unit/appliance/network/fake_command_runner.h"

#include "appliance/core/strings.h"

namespace annex::network::testing {
namespace {

CommandOutput Exit(int code, std::string err = {}) { return CommandOutput{code, {}, std::move(err)}; }
CommandOutput Ok(std::string out = {}) { return CommandOutput{0, std::move(out), {}}; }
CommandOutput NoDevice(const std::string& name) { return Exit(1, "Cannot find device \"" + name + "\""); }

// The word after `key` in argv, or "".
std::string After(const std::vector<std::string>& a, const std::string& key, size_t from = 0) {
  for (size_t i = from; i + 1 < a.size(); ++i) {
    if (a[i] == key) return a[i + 1];
  }
  return {};
}

}  // namespace

void FakeCommandRunner::FailCommand(const std::string& prefix, int times) {
  std::lock_guard lock(mu_);
  failures_.emplace_back(prefix, times);
}

void FakeCommandRunner::ClearFailures() {
  std::lock_guard lock(mu_);
  failures_.clear();
}

bool FakeCommandRunner::ShouldFail(const std::string& line) {
  for (auto& [prefix, times] : failures_) {
    if (times == 0 || !StartsWith(line, prefix)) continue;
    if (times > 0) --times;
    return true;
  }
  return false;
}

Result<CommandOutput> FakeCommandRunner::Run(const std::vector<std::string>& argv, std::string_view input) {
  std::lock_guard lock(mu_);
  std::string line = CommandLine(argv);
  commands_.push_back(line);
  if (ShouldFail(line)) return Exit(1, "injected failure");
  if (argv.size() >= 2 && argv[0] == "nft" && argv[1] == "-f") return Nft(input);
  if (!argv.empty() && argv[0] == "ip") return Ip(argv);
  return Exit(127, "unknown command " + line);
}

Status FakeCommandRunner::WriteSysctl(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  std::string line = "sysctl " + std::string(key);
  commands_.push_back(line + "=" + std::string(value));
  if (ShouldFail(line)) return Status::IOError("injected failure: " + line);
  sysctls_[std::string(key)] = std::string(value);
  return Status::OK();
}

CommandOutput FakeCommandRunner::Ip(const std::vector<std::string>& a) {
  if (a.size() >= 3 && a[1] == "-n") return IpInNetns(a);
  if (a.size() >= 3 && a[1] == "link") return IpLink(a);
  if (a.size() >= 6 && a[1] == "addr" && a[2] == "replace") {
    if (!links_.count(a[5])) return NoDevice(a[5]);
    addresses_[a[5]].insert(a[3]);
    return Ok();
  }
  if (a.size() >= 3 && a[1] == "netns") {
    if (a[2] == "list") {
      std::string out;
      for (const auto& [name, ns] : netns_) out += name + "\n";
      return Ok(out);
    }
    if (a.size() < 4) return Exit(1, "usage");
    if (a[2] == "add") {
      if (netns_.count(a[3])) return Exit(1, "Cannot create namespace file: File exists");
      netns_[a[3]];
      return Ok();
    }
    if (a[2] == "del") {
      if (!netns_.erase(a[3])) return Exit(1, "Cannot remove namespace file: No such file or directory");
      // Its links go with it; a veth's host end too.
      for (auto it = links_.begin(); it != links_.end();) {
        it = it->second.peer_netns == a[3] ? links_.erase(it) : std::next(it);
      }
      return Ok();
    }
  }
  return Exit(1, "fake: unsupported " + CommandLine(a));
}

CommandOutput FakeCommandRunner::IpLink(const std::vector<std::string>& a) {
  const std::string& verb = a[2];
  if (verb == "show") {
    std::string dev = After(a, "dev");
    return links_.count(dev) ? Ok(dev + "\n") : Exit(1, "Device \"" + dev + "\" does not exist.");
  }
  if (verb == "del") {
    std::string dev = After(a, "dev");
    auto it = links_.find(dev);
    if (it == links_.end()) return NoDevice(dev);
    if (netns_.count(it->second.peer_netns)) netns_[it->second.peer_netns].links.erase("eth0");
    for (auto& [name, link] : links_) {
      if (link.master == dev) link.master.clear();
    }
    links_.erase(it);
    addresses_.erase(dev);
    return Ok();
  }
  if (verb == "set") {
    std::string dev = After(a, "dev");
    if (!links_.count(dev)) return NoDevice(dev);
    std::string master = After(a, "master");
    if (!master.empty() && !links_.count(master)) return NoDevice(master);
    if (!master.empty()) links_[dev].master = master;
    if (a.back() == "up") links_[dev].up = true;
    return Ok();
  }
  if (verb == "add") {
    std::string name = After(a, "name");
    if (links_.count(name)) return Exit(2, "RTNETLINK answers: File exists");
    std::string type = After(a, "type");
    Link link{type, After(a, "master"), false, {}};
    if (!link.master.empty() && !links_.count(link.master)) return NoDevice(link.master);
    if (type == "veth") {
      std::string netns = After(a, "netns");
      if (!netns_.count(netns)) return Exit(1, "Invalid \"netns\" value");
      if (netns_[netns].links.count("eth0")) return Exit(2, "RTNETLINK answers: File exists");
      netns_[netns].links.insert("eth0");
      link.peer_netns = netns;
      link.up = true;
    }
    links_[name] = link;
    return Ok();
  }
  return Exit(1, "fake: unsupported " + CommandLine(a));
}

CommandOutput FakeCommandRunner::IpInNetns(const std::vector<std::string>& a) {
  auto it = netns_.find(a[2]);
  if (it == netns_.end()) return Exit(1, "Cannot open network namespace \"" + a[2] + "\"");
  Netns& ns = it->second;
  std::string dev = After(a, "dev");
  if (!dev.empty() && !ns.links.count(dev)) return NoDevice(dev);
  if (a.size() > 5 && a[3] == "addr" && a[4] == "replace") ns.addresses.insert(a[5]);
  if (a.size() > 5 && a[3] == "route" && a[4] == "replace") ns.default_via = After(a, "via");
  return Ok();
}

CommandOutput FakeCommandRunner::Nft(std::string_view input) {
  // The network writes either "add table; delete table; table {…}" (replace)
  // or just the first two lines (removal).
  std::string script(input);
  std::string_view marker = "delete table ip ";
  size_t at = script.find(marker);
  if (at == std::string::npos) return Exit(1, "fake nft: no table");
  size_t end = script.find('\n', at);
  std::string table = script.substr(at + marker.size(), end - at - marker.size());
  if (script.find("table ip " + table + " {") != std::string::npos) {
    tables_[table] = script;
  } else {
    tables_.erase(table);
  }
  return Ok();
}

bool FakeCommandRunner::HasLink(const std::string& name) const {
  std::lock_guard lock(mu_);
  return links_.count(name) > 0;
}
bool FakeCommandRunner::HasNetns(const std::string& name) const {
  std::lock_guard lock(mu_);
  return netns_.count(name) > 0;
}
FakeCommandRunner::Link FakeCommandRunner::GetLink(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = links_.find(name);
  return it == links_.end() ? Link{} : it->second;
}
FakeCommandRunner::Netns FakeCommandRunner::GetNetns(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = netns_.find(name);
  return it == netns_.end() ? Netns{} : it->second;
}
std::set<std::string> FakeCommandRunner::Addresses(const std::string& dev) const {
  std::lock_guard lock(mu_);
  auto it = addresses_.find(dev);
  return it == addresses_.end() ? std::set<std::string>{} : it->second;
}
std::string FakeCommandRunner::NftTable(const std::string& table) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(table);
  return it == tables_.end() ? "" : it->second;
}
std::string FakeCommandRunner::Sysctl(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = sysctls_.find(key);
  return it == sysctls_.end() ? "" : it->second;
}
std::vector<std::string> FakeCommandRunner::commands() const {
  std::lock_guard lock(mu_);
  return commands_;
}
size_t FakeCommandRunner::LinkCount() const {
  std::lock_guard lock(mu_);
  return links_.size();
}
size_t FakeCommandRunner::NetnsCount() const {
  std::lock_guard lock(mu_);
  return netns_.size();
}
void FakeCommandRunner::RemoveNetns(const std::string& name) {
  std::lock_guard lock(mu_);
  netns_.erase(name);
}
void FakeCommandRunner::RemoveLink(const std::string& name) {
  std::lock_guard lock(mu_);
  links_.erase(name);
  for (auto& [other, link] : links_) {
    if (link.master == name) link.master.clear();
  }
}

}  // namespace annex::network::testing
