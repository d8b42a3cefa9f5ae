// Acknowledged log appends survive a power cut: a child appends batches and
// acknowledges each once Append returns, is killed, every write it had not
// synced is undone (power_cut.h), and the reopened store must hold every
// acknowledged batch, in order, with counters that match.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "appliance/logs/log_store.h"
#include "appliance/os/clock.h"
#include "tests/unit/power_cut/power_cut.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::testing {
namespace {

constexpr int kEventsPerBatch = 20;

std::unique_ptr<logs::LogStore> OpenStore(const std::string& dir) {
  logs::LogStore::Options options;
  options.dir = dir;
  options.clock = &os::SystemClock();
  options.maintenance_interval = std::chrono::milliseconds(0);
  auto store = logs::LogStore::Open(options);
  return store.ok() ? std::move(*store) : nullptr;
}

std::string Message(uint64_t batch, int i) { return "batch " + std::to_string(batch) + " line " + std::to_string(i); }

TEST(LogStorePowerCutTest, AcknowledgedAppendsSurvive) {
  TempDir dir;
  TempDir journal_dir;
  std::string store_dir = dir.path() + "/logs";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    power_cut::Arm(dir.path(), journal_dir.path() + "/journal");
    auto store = OpenStore(store_dir);
    if (!store) ::_exit(2);
    for (uint64_t batch = 1;; ++batch) {
      std::vector<logs::LogEvent> events;
      for (int i = 0; i < kEventsPerBatch; ++i) {
        events.push_back({static_cast<int64_t>(batch * 1000 + i), Message(batch, i)});
      }
      if (!store->Append("111111111111", "/power/cut", "s", std::move(events), /*create_missing=*/true).ok()) {
        ::_exit(3);
      }
      if (::write(pipe_fds[1], &batch, sizeof(batch)) != sizeof(batch)) ::_exit(4);
    }
  }
  ::close(pipe_fds[1]);
  uint64_t acked = 0, n = 0;
  while (acked < 100 && ::read(pipe_fds[0], &n, sizeof(n)) == sizeof(n)) acked = n;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[0]);
  auto undone = power_cut::Apply(dir.path(), journal_dir.path() + "/journal");
  ASSERT_TRUE(undone.ok()) << undone.status().ToString();
  ASSERT_GE(acked, 100u);

  auto store = OpenStore(store_dir);
  ASSERT_TRUE(store);
  logs::StreamRead read;
  read.limit = 10000;
  read.max_bytes = size_t{64} << 20;
  auto events = store->ReadStream("111111111111", "/power/cut", "s", read);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_GE(events->size(), acked * kEventsPerBatch) << "an acknowledged batch was lost";
  for (uint64_t batch = 1; batch <= acked; ++batch) {
    for (int i = 0; i < kEventsPerBatch; ++i) {
      const auto& e = (*events)[(batch - 1) * kEventsPerBatch + static_cast<size_t>(i)];
      ASSERT_EQ(e.message, Message(batch, i));
      ASSERT_EQ(e.timestamp_ms, static_cast<int64_t>(batch * 1000 + i));
    }
  }
  uint64_t bytes = 0;
  for (const auto& e : *events) bytes += e.message.size();
  auto group = store->GetGroup("111111111111", "/power/cut");
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->stored_bytes, bytes);
  EXPECT_EQ(store->stored_bytes(), bytes);
}

}  // namespace
}  // namespace annex::testing
