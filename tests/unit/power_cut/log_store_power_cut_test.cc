// Acknowledged log appends survive a power cut: a child appends batches and
// acknowledges each once Append returns, is killed, every write it had not
// synced is undone (power_cut.h), and the reopened store must hold every
// acknowledged batch, in order, with counters that match — whether the cut
// finds them only in the journal, in LMDB, or across journal rotations.

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

// How the child's store moves appends from the journal to LMDB.
struct JournalCase {
  const char* name;
  std::chrono::milliseconds apply_interval;
  uint64_t apply_bytes;
  uint64_t journal_rotate_bytes;
};

const JournalCase kJournalCases[] = {
    {"Defaults", std::chrono::milliseconds(20), uint64_t{8} << 20, uint64_t{64} << 20},
    {"OnlyInTheJournal", std::chrono::hours(1), uint64_t{1} << 40, uint64_t{1} << 40},
    {"AppliedAtOnceAndRotated", std::chrono::milliseconds(0), 1, 16 << 10},
};

std::unique_ptr<logs::LogStore> OpenStore(const std::string& dir, const JournalCase* journal = nullptr) {
  logs::LogStore::Options options;
  options.dir = dir;
  if (journal) {
    options.apply_interval = journal->apply_interval;
    options.apply_bytes = journal->apply_bytes;
    options.journal_rotate_bytes = journal->journal_rotate_bytes;
  }
  options.clock = &os::SystemClock();
  options.maintenance_interval = std::chrono::milliseconds(0);
  auto store = logs::LogStore::Open(options);
  return store.ok() ? std::move(*store) : nullptr;
}

std::string Message(uint64_t batch, int i) { return "batch " + std::to_string(batch) + " line " + std::to_string(i); }

class LogStorePowerCutTest : public ::testing::TestWithParam<JournalCase> {};

TEST_P(LogStorePowerCutTest, AcknowledgedAppendsSurvive) {
  TempDir dir;
  TempDir journal_dir;
  std::string store_dir = dir.path() + "/logs";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    power_cut::Arm(dir.path(), journal_dir.path() + "/journal");
    auto store = OpenStore(store_dir, &GetParam());
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

INSTANTIATE_TEST_SUITE_P(Journal, LogStorePowerCutTest, ::testing::ValuesIn(kJournalCases),
                         [](const ::testing::TestParamInfo<JournalCase>& info) { return info.param.name; });

}  // namespace
}  // namespace annex::testing
