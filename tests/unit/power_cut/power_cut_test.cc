// Acknowledged writes survive a power cut, not just kill -9: a child process
// writes and acknowledges, is killed, and then every write it had not made
// durable with fsync/fdatasync is undone (power_cut.h) before the store is
// opened again. The first test shows the harness catches a store that
// acknowledges before syncing.

#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "sync/agent/outbox.h"
#include "tests/unit/power_cut/power_cut.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::testing {
namespace {

using Ack = std::function<void(uint64_t)>;

// Runs `writer` in a child armed for `dir`, waits for `acks` acknowledgements
// (or the child's end), kills it mid-stream and cuts the power. Returns the
// highest acknowledged number.
uint64_t WriteThenCutPower(const std::string& dir, uint64_t acks, const std::function<void(const Ack&)>& writer) {
  TempDir journal_dir;
  std::string journal = journal_dir.path() + "/journal";
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    power_cut::Arm(dir, journal);
    writer([&](uint64_t n) {
      if (::write(pipe_fds[1], &n, sizeof(n)) != sizeof(n)) ::_exit(3);
    });
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  uint64_t acked = 0, n = 0;
  while (acked < acks && ::read(pipe_fds[0], &n, sizeof(n)) == sizeof(n)) acked = n;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[0]);
  auto undone = power_cut::Apply(dir, journal);
  EXPECT_TRUE(undone.ok()) << undone.status().ToString();
  return acked;
}

TEST(PowerCutTest, CatchesAStoreThatAcknowledgesBeforeSyncing) {
  TempDir dir;
  auto open_env = [&](unsigned flags, MDB_env** env, MDB_dbi* dbi) {
    ASSERT_EQ(mdb_env_create(env), 0);
    ASSERT_EQ(mdb_env_set_mapsize(*env, 64 << 20), 0);
    ASSERT_EQ(mdb_env_open(*env, dir.path().c_str(), flags, 0600), 0);
    MDB_txn* txn;
    ASSERT_EQ(mdb_txn_begin(*env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, dbi), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
  };
  uint64_t acked = WriteThenCutPower(dir.path(), 50, [&](const Ack& ack) {
    MDB_env* env;
    MDB_dbi dbi;
    open_env(MDB_NOSYNC, &env, &dbi);  // commits return before anything is on disk
    for (uint64_t i = 1;; ++i) {
      std::string key = "k" + std::to_string(i);
      MDB_val k{key.size(), key.data()}, v{key.size(), key.data()};
      MDB_txn* txn;
      if (mdb_txn_begin(env, nullptr, 0, &txn) != 0 || mdb_put(txn, dbi, &k, &v, 0) != 0 ||
          mdb_txn_commit(txn) != 0) {
        return;
      }
      ack(i);
    }
  });
  ASSERT_GE(acked, 50u);
  MDB_env* env;
  MDB_dbi dbi;
  open_env(0, &env, &dbi);
  MDB_txn* txn;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  std::string key = "k" + std::to_string(acked);
  MDB_val k{key.size(), key.data()}, v;
  EXPECT_EQ(mdb_get(txn, dbi, &k, &v), MDB_NOTFOUND) << "an unsynced commit outlived the power cut";
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

TEST(PowerCutTest, AcknowledgedOutboxRecordsSurvive) {
  TempDir dir;
  uint64_t acked = WriteThenCutPower(dir.path(), 200, [&](const Ack& ack) {
    auto outbox = sync::Outbox::Open(dir.path());
    if (!outbox.ok()) return;
    for (uint64_t i = 1;; ++i) {
      auto seq = (*outbox)->Append("event", "record-" + std::to_string(i), static_cast<int64_t>(i));
      if (!seq.ok()) return;
      if (i % 50 == 0 && !(*outbox)->Acknowledge(*seq - 25).ok()) return;
      ack(*seq);
    }
  });
  ASSERT_GE(acked, 200u);
  auto outbox = sync::Outbox::Open(dir.path());
  ASSERT_TRUE(outbox.ok()) << outbox.status().ToString();
  EXPECT_GE((*outbox)->last_sequence(), acked);
  uint64_t first = (*outbox)->last_acknowledged() + 1;
  EXPECT_LE(first, acked - 24) << "an acknowledgement newer than the last durable one survived";
  auto records = (*outbox)->ReadFrom(first, acked);
  ASSERT_TRUE(records.ok());
  ASSERT_GE(records->size(), acked - first + 1);
  for (uint64_t seq = first; seq <= acked; ++seq) {
    const auto& r = (*records)[seq - first];
    EXPECT_EQ(r.seq, seq);
    EXPECT_EQ(r.payload, "record-" + std::to_string(seq));
  }
}

// The object store's metadata commits defer the meta page's sync to the next
// batch (GroupCommitter): an answer must still wait until it is durable.
TEST(PowerCutTest, AcknowledgedObjectsSurvive) {
  TempDir dir;
  auto body = [](uint64_t i) {
    return objectstore::testing::Payload(i % 5 == 0 ? 3000 + i : 100 + i, static_cast<char>('a' + i % 26));
  };
  uint64_t acked = WriteThenCutPower(dir.path(), 60, [&](const Ack& ack) {
    objectstore::testing::S3Harness s3(dir.path());
    if (s3.Send("PUT", "/bkt").status != 200) return;
    for (uint64_t i = 1;; ++i) {
      if (s3.Send("PUT", "/bkt/k" + std::to_string(i), body(i)).status != 200) return;
      ack(i);
    }
  });
  ASSERT_GE(acked, 60u);
  objectstore::testing::S3Harness s3(dir.path());
  for (uint64_t i = 1; i <= acked; ++i) {
    auto r = s3.Send("GET", "/bkt/k" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << "k" << i << " of " << acked << " acknowledged: " << r.body.substr(0, 200);
    EXPECT_TRUE(r.body == body(i)) << "k" << i << " differs after the power cut";
  }
}

}  // namespace
}  // namespace annex::testing
