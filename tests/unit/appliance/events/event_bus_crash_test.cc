// kill -9 between acknowledgement and delivery, over cycles: a child
// publishes events (each acknowledged only after its commit) while the bus
// delivers them to a consumer that appends each delivery to a file; the
// parent kills the child at varying points and starts the next. At the end
// every acknowledged event was delivered, and a repeat carries the same
// delivery id as the first delivery.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "appliance/events/event_bus.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::events {
namespace {

constexpr int kCycles = 12;

// The child: publish `count` events named "<cycle>-<i>", acknowledging each
// on `ack_fd` after its commit, while the bus's thread delivers.
[[noreturn]] void RunChild(const std::string& dir, const std::string& delivered, int cycle, int count, int ack_fd) {
  auto env = store::LmdbEnv::Open(dir + "/env");
  if (!env.ok()) ::_exit(2);
  auto log = EventLog::Open("objectstore", **env);
  if (!log.ok()) ::_exit(2);
  int out = ::open(delivered.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  EventBus bus(os::SystemClock(), EventBusOptions{.batch = 16, .poll = std::chrono::milliseconds(5)});
  bus.AddLog(log->get());
  bus.Subscribe({"consumer", "", [out](const Event& e) {
                   // A consumer slower than the publisher, so kills land with a backlog in flight.
                   ::usleep(300);
                   std::string line = e.delivery_id() + " " + e.detail + "\n";
                   return ::write(out, line.data(), line.size()) == static_cast<ssize_t>(line.size())
                              ? Status::OK()
                              : Status::IOError("write");
                 }});
  bus.Start();
  for (int i = 0; i < count; ++i) {
    auto txn = (*env)->BeginWrite();
    if (!txn.ok()) ::_exit(3);
    std::string name = std::to_string(cycle) + "-" + std::to_string(i);
    if (!(*log)->Publish(*txn, "aws.s3", "Object Created", name, i).ok() || !txn->Commit().ok()) ::_exit(3);
    bus.Notify();
    if (::write(ack_fd, name.data(), name.size()) < 0 || ::write(ack_fd, "\n", 1) < 0) ::_exit(3);
  }
  // Drain, so the last cycle ends with everything delivered.
  bus.Stop();
  for (auto n = bus.DeliverDue(); n.ok() && *n > 0; n = bus.DeliverDue()) {
  }
  ::_exit(0);
}

TEST(EventBusCrashTest, NoAcknowledgedEventIsLostAcrossKill9) {
  annex::testing::TempDir dir;
  std::string delivered = dir.path() + "/delivered";
  std::set<std::string> acked;
  for (int cycle = 0; cycle <= kCycles; ++cycle) {
    bool last = cycle == kCycles;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir.path(), delivered, cycle, last ? 1 : 200, fds[1]);
    }
    ::close(fds[1]);
    // Kill after a varying number of acknowledgements (all of them in the last cycle).
    size_t kill_after = last ? SIZE_MAX : 20 + static_cast<size_t>(cycle) * 13;
    std::string pending;
    size_t seen = 0;
    char buf[512];
    ssize_t n;
    while (seen < kill_after && (n = ::read(fds[0], buf, sizeof(buf))) > 0) {
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
        acked.insert(pending.substr(0, nl));
        ++seen;
      }
    }
    if (!last) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    if (last) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
  }
  std::map<std::string, std::string> by_id;  // delivery id → event
  std::set<std::string> got;
  std::ifstream in(delivered);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, name;
    fields >> id >> name;
    auto [it, inserted] = by_id.emplace(id, name);
    EXPECT_EQ(it->second, name) << "delivery id " << id << " named two different events";
    got.insert(name);
  }
  for (const auto& name : acked) EXPECT_TRUE(got.contains(name)) << "acknowledged event " << name << " never delivered";
  EXPECT_GT(acked.size(), static_cast<size_t>(kCycles) * 20);
}

}  // namespace
}  // namespace annex::events
