// WorkloadNetwork on the real host, as root: two workloads' namespaces,
// what each can see and reach, a published port answered from inside a
// namespace, an annexd restart in between, and nothing left afterwards.
//
// Uses a bridge, subnet and nft table of its own (annexT<pid>, a /24 in
// 172.31.0.0/16) and removes them in TearDown even when a check failed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "appliance/core/strings.h"
#include "appliance/os/host_command_runner.h"
#include "appliance/network/workload_network.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::network {
namespace {

using namespace std::chrono_literals;

constexpr char kBusybox[] = "/bin/busybox";

std::string ReadSysctl(const std::string& key) {
  std::ifstream in("/proc/sys/" + key);
  std::string v;
  in >> v;
  return v;
}

// Interface names in `ip -o link` output ("2: eth0@if7: <...>" → "eth0").
std::set<std::string> LinkNames(const std::string& out) {
  std::set<std::string> names;
  for (std::string_view line : Split(out, '\n')) {
    size_t a = line.find(": ");
    if (a == std::string_view::npos) continue;
    std::string_view rest = line.substr(a + 2);
    names.emplace(rest.substr(0, std::min(rest.find(':'), rest.find('@'))));
  }
  return names;
}

// Sends an HTTP/1.0 GET to 127.0.0.1:port and returns the whole answer
// ("" when nothing answered before the deadline).
std::string HttpGet(uint16_t port, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::string request = "GET /index.html HTTP/1.0\r\n\r\n";
      std::string answer;
      if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof(buf))) > 0) answer.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
      if (!answer.empty()) return answer;
    } else {
      ::close(fd);
    }
    std::this_thread::sleep_for(100ms);
  }
  return {};
}

class WorkloadNetworkHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create bridges and network namespaces";
    for (const char* tool : {"/usr/sbin/ip", "/usr/sbin/nft", kBusybox}) {
      if (::access(tool, X_OK) != 0) GTEST_SKIP() << tool << " is not installed";
    }
    pid_t pid = ::getpid();
    name_ = "annexT" + std::to_string(pid);
    std::string probe = name_ + "-probe";
    Result<CommandOutput> made = host_.Run({"ip", "netns", "add", probe});
    if (!made.ok() || !made->ok()) {
      GTEST_SKIP() << "ip netns add fails here: " << (made.ok() ? made->err : made.status().ToString());
    }
    host_.Run({"ip", "netns", "del", probe}).status().IgnoreError();
    ip_forward_ = ReadSysctl("net/ipv4/ip_forward");
    subnet_prefix_ = "172.31." + std::to_string(20 + pid % 200) + ".";
    options_.data_dir = dir_.path() + "/network";
    options_.bridge = name_;
    options_.subnet = subnet_prefix_ + "0/24";
    options_.nft_table = name_;
    options_.runner = &host_;
    net_ = std::make_unique<WorkloadNetwork>(options_);
    set_up_ = true;
  }

  void TearDown() override {
    if (!set_up_) return;
    for (pid_t p : servers_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    Status s = WorkloadNetwork(options_).Destroy();
    EXPECT_TRUE(s.ok()) << s.ToString();
    // Belt and braces for a Destroy that failed half-way.
    for (const std::string& ns : namespaces_) host_.Run({"ip", "netns", "del", ns}).status().IgnoreError();
    host_.Run({"ip", "link", "del", "dev", name_}).status().IgnoreError();
    host_.Run({"nft", "delete", "table", "ip", name_}).status().IgnoreError();
    if (!ip_forward_.empty()) host_.WriteSysctl("net/ipv4/ip_forward", ip_forward_).IgnoreError();
  }

  CommandOutput Exec(const std::string& netns, std::vector<std::string> argv, std::string_view input = {}) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", netns});
    Result<CommandOutput> out = host_.Run(argv, input);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : CommandOutput{-1, {}, out.status().ToString()};
  }

  Attachment MustAttach(const std::string& id) {
    Result<Attachment> a = net_->Attach(id);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (!a.ok()) return {};
    namespaces_.push_back(a->netns_name);
    return *a;
  }

  // busybox httpd in the namespace, serving `body` as /index.html on :80.
  void ServeHttp(const std::string& netns, const std::string& body) {
    std::string root = dir_.path() + "/www-" + netns;
    ::mkdir(root.c_str(), 0755);
    std::ofstream(root + "/index.html") << body;
    std::vector<std::string> args = {"/usr/sbin/ip", "netns", "exec", netns, kBusybox, "httpd", "-f", "-p", "80",
                                     "-h", root};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    servers_.push_back(pid);
  }

  // An HTTP/1.0 GET from inside the namespace (busybox nc: this busybox's
  // wget crashes); the whole answer.
  std::string HttpGetFrom(const std::string& netns, const std::string& address, uint16_t port) {
    return Exec(netns, {kBusybox, "nc", "-w", "5", address, std::to_string(port)},
                "GET /index.html HTTP/1.0\r\n\r\n")
        .out;
  }

  std::string NftTable() {
    Result<CommandOutput> out = host_.Run({"nft", "list", "table", "ip", name_});
    return out.ok() && out->ok() ? out->out : "";
  }

  os::HostCommandRunner host_;
  annex::testing::TempDir dir_;
  std::string name_, subnet_prefix_, ip_forward_;
  WorkloadNetworkOptions options_;
  std::unique_ptr<WorkloadNetwork> net_;
  std::vector<std::string> namespaces_;
  std::vector<pid_t> servers_;
  bool set_up_ = false;
};

TEST_F(WorkloadNetworkHostTest, WorkloadsGetIsolatedNamespacesOnOneBridge) {
  ASSERT_TRUE(net_->Open().ok());
  Attachment a = MustAttach(name_ + "-a");
  Attachment b = MustAttach(name_ + "-b");
  ASSERT_FALSE(a.netns_name.empty());
  ASSERT_FALSE(b.netns_name.empty());
  EXPECT_EQ(a.ipv4, subnet_prefix_ + "2");
  EXPECT_EQ(b.ipv4, subnet_prefix_ + "3");
  EXPECT_EQ(::access(a.netns_path.c_str(), F_OK), 0) << a.netns_path;

  // Each sees its own lo and eth0, nothing of the host's or the other's.
  for (const Attachment* w : {&a, &b}) {
    CommandOutput links = Exec(w->netns_name, {"ip", "-o", "link"});
    EXPECT_EQ(LinkNames(links.out), (std::set<std::string>{"lo", "eth0"})) << links.out;
    CommandOutput addrs = Exec(w->netns_name, {"ip", "-o", "-4", "addr", "show", "dev", "eth0"});
    EXPECT_NE(addrs.out.find(w->ipv4 + "/24"), std::string::npos) << addrs.out;
  }
  CommandOutput a_links = Exec(a.netns_name, {"ip", "link", "show", "dev", b.host_veth});
  EXPECT_FALSE(a_links.ok());

  // The gateway and the other workload answer (one subnet, as in one VPC).
  CommandOutput ping = Exec(a.netns_name, {kBusybox, "ping", "-c", "1", "-W", "3", a.gateway});
  EXPECT_TRUE(ping.ok()) << ping.out << ping.err;
  ping = Exec(a.netns_name, {kBusybox, "ping", "-c", "1", "-W", "3", b.ipv4});
  EXPECT_TRUE(ping.ok()) << ping.out << ping.err;
}

TEST_F(WorkloadNetworkHostTest, APublishedPortReachesTheWorkloadFromTheHost) {
  ASSERT_TRUE(net_->Open().ok());
  Attachment a = MustAttach(name_ + "-a");
  Attachment b = MustAttach(name_ + "-b");
  ASSERT_FALSE(a.netns_name.empty());
  Result<std::vector<PortBinding>> bound = net_->PublishPorts(a.id, {{Protocol::kTcp, 80, 0}});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  uint16_t port = bound->at(0).host_port;
  EXPECT_GE(port, 49153);
  ServeHttp(a.netns_name, "hello from a\n");

  std::string answer = HttpGet(port, 10s);
  EXPECT_NE(answer.find("hello from a"), std::string::npos) << "127.0.0.1:" << port << " answered: " << answer;

  // Another workload reaches it through the gateway's published port too.
  std::string hairpin = HttpGetFrom(b.netns_name, a.gateway, port);
  EXPECT_NE(hairpin.find("hello from a"), std::string::npos) << hairpin;

  // A host port published once is not handed out again.
  EXPECT_EQ(net_->PublishPorts(b.id, {{Protocol::kTcp, 80, port}}).status().code(), StatusCode::kAlreadyExists);

  ASSERT_TRUE(net_->UnpublishPorts(a.id).ok());
  EXPECT_EQ(NftTable().find("dport " + std::to_string(port)), std::string::npos);
  EXPECT_EQ(HttpGet(port, 500ms).find("hello from a"), std::string::npos);
}

TEST_F(WorkloadNetworkHostTest, WorkloadsReachAServiceAddressOnTheHost) {
  ASSERT_TRUE(net_->Open().ok());
  // A link-local service address of the test's own (ECS uses 169.254.170.2).
  std::string service = "169.254.170." + std::to_string(100 + ::getpid() % 100);
  ASSERT_TRUE(net_->AddServiceAddress(service).ok());
  ASSERT_TRUE(net_->AddServiceAddress(service).ok());
  Attachment a = MustAttach(name_ + "-a");
  ASSERT_FALSE(a.netns_name.empty());

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, service.c_str(), &addr.sin_addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread server([listener] {
    int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) return;
    char buf[1024];
    ::read(c, buf, sizeof(buf));
    std::string answer = "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\ncredentials\n";
    ::write(c, answer.data(), answer.size());
    ::close(c);
  });
  std::string got = HttpGetFrom(a.netns_name, service, ntohs(addr.sin_port));
  ::shutdown(listener, SHUT_RDWR);
  server.join();
  ::close(listener);
  EXPECT_NE(got.find("\r\n\r\ncredentials\n"), std::string::npos) << got;
}

TEST_F(WorkloadNetworkHostTest, ARestartedNetworkKeepsWorkloadsAndDetachRemovesThem) {
  ASSERT_TRUE(net_->Open().ok());
  Attachment a = MustAttach(name_ + "-a");
  ASSERT_FALSE(a.netns_name.empty());
  ASSERT_TRUE(net_->PublishPorts(a.id, {{Protocol::kTcp, 80, 0}}).ok());

  // annexd restarts: a new object over the same data dir re-adopts.
  net_ = std::make_unique<WorkloadNetwork>(options_);
  ASSERT_TRUE(net_->Open().ok());
  Result<Attachment> again = net_->Find(a.id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ipv4, a.ipv4);
  ASSERT_EQ(again->ports.size(), 1u);
  uint16_t port = again->ports[0].host_port;
  EXPECT_NE(NftTable().find("dport " + std::to_string(port)), std::string::npos) << NftTable();
  CommandOutput ping = Exec(a.netns_name, {kBusybox, "ping", "-c", "1", "-W", "3", a.gateway});
  EXPECT_TRUE(ping.ok()) << ping.out << ping.err;

  ASSERT_TRUE(net_->Detach(a.id).ok());
  Result<CommandOutput> list = host_.Run({"ip", "netns", "list"});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->out.find(a.netns_name), std::string::npos) << list->out;
  EXPECT_EQ(::access(a.netns_path.c_str(), F_OK), -1);
  Result<CommandOutput> veth = host_.Run({"ip", "link", "show", "dev", a.host_veth});
  ASSERT_TRUE(veth.ok());
  EXPECT_FALSE(veth->ok()) << veth->out;
  EXPECT_EQ(NftTable().find("dport " + std::to_string(port)), std::string::npos) << NftTable();

  ASSERT_TRUE(net_->Destroy().ok());
  Result<CommandOutput> bridge = host_.Run({"ip", "link", "show", "dev", name_});
  ASSERT_TRUE(bridge.ok());
  EXPECT_FALSE(bridge->ok());
  EXPECT_EQ(NftTable(), "");
}

}  // namespace
}  // namespace annex::network
