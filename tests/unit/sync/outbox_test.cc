#include "sync/agent/outbox.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "tests/unit/testing/temp_dir.h"

namespace annex::sync {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  std::unique_ptr<Outbox> OpenBox() {
    auto box = Outbox::Open(tmp_.path() + "/outbox");
    EXPECT_TRUE(box.ok()) << box.status().message();
    return box.ok() ? std::move(*box) : nullptr;
  }
  annex::testing::TempDir tmp_;
};

TEST_F(OutboxTest, RecordsComeBackInOrderUntilAcknowledged) {
  auto box = OpenBox();
  for (int i = 1; i <= 5; ++i) {
    auto seq = box->Append("resource", "bucket-" + std::to_string(i), 1000 + i);
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, static_cast<uint64_t>(i));
  }
  auto all = box->ReadFrom(1, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[2].seq, 3u);
  EXPECT_EQ((*all)[2].kind, "resource");
  EXPECT_EQ((*all)[2].payload, "bucket-3");
  EXPECT_EQ((*all)[2].created_unix_ms, 1003);

  ASSERT_TRUE(box->Acknowledge(3).ok());
  EXPECT_EQ(box->depth(), 2u);
  auto rest = box->ReadFrom(1, 100);  // acknowledged records are gone, whatever `first` says
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ(rest->front().seq, 4u);
  EXPECT_EQ(box->ReadFrom(5, 1)->front().payload, "bucket-5");
  EXPECT_EQ(box->ReadFrom(4, 1)->size(), 1u);
}

TEST_F(OutboxTest, AcknowledgementsAreCumulativeAndChecked) {
  auto box = OpenBox();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(box->Append("event", "e", 0).ok());
  ASSERT_TRUE(box->Acknowledge(2).ok());
  EXPECT_TRUE(box->Acknowledge(1).ok());  // old news: nothing changes
  EXPECT_EQ(box->last_acknowledged(), 2u);
  Status forged = box->Acknowledge(7);  // never sent
  EXPECT_EQ(forged.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(box->last_acknowledged(), 2u);
  EXPECT_EQ(box->ReadFrom(0, 10)->size(), 1u);
}

TEST_F(OutboxTest, SurvivesReopenAndNeverReusesSequenceNumbers) {
  {
    auto box = OpenBox();
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(box->Append("usage", "u", 0).ok());
    ASSERT_TRUE(box->Acknowledge(4).ok());  // everything delivered and deleted
  }
  auto box = OpenBox();
  EXPECT_EQ(box->last_sequence(), 4u);
  EXPECT_EQ(box->last_acknowledged(), 4u);
  EXPECT_EQ(box->depth(), 0u);
  EXPECT_EQ(*box->Append("usage", "after restart", 0), 5u);
  EXPECT_EQ(box->ReadFrom(0, 10)->front().payload, "after restart");
}

// kill -9 while appending: every append that returned is there after reopen,
// numbered without gaps, and the numbering continues after the last one.
TEST_F(OutboxTest, EveryReturnedAppendSurvivesKill9) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto box = Outbox::Open(tmp_.path() + "/outbox");
    if (!box.ok()) ::_exit(2);
    for (uint64_t i = 0;; ++i) {
      auto seq = (*box)->Append("event", "payload-" + std::to_string(i), 0);
      if (!seq.ok()) ::_exit(3);
      uint64_t s = *seq;
      if (::write(fds[1], &s, sizeof(s)) != sizeof(s)) ::_exit(4);
      if (i % 7 == 6) (void)(*box)->Acknowledge(s - 3);
    }
  }
  ::close(fds[1]);
  std::set<uint64_t> returned;
  uint64_t s;
  while (returned.size() < 200 && ::read(fds[0], &s, sizeof(s)) == sizeof(s)) returned.insert(s);
  ::kill(child, SIGKILL);
  int status;
  ::waitpid(child, &status, 0);
  while (::read(fds[0], &s, sizeof(s)) == sizeof(s)) returned.insert(s);
  ::close(fds[0]);
  ASSERT_GE(returned.size(), 200u);

  auto box = OpenBox();
  ASSERT_NE(box, nullptr);
  EXPECT_GE(box->last_sequence(), *returned.rbegin());
  auto pending = box->ReadFrom(0, 1'000'000);
  ASSERT_TRUE(pending.ok());
  uint64_t expect = box->last_acknowledged() + 1;
  for (const auto& r : *pending) EXPECT_EQ(r.seq, expect++);
  EXPECT_EQ(expect, box->last_sequence() + 1);
  for (uint64_t seq : returned) {
    if (seq > box->last_acknowledged()) {
      EXPECT_EQ((*pending)[seq - box->last_acknowledged() - 1].seq, seq);
    }
  }
  uint64_t last = box->last_sequence();
  EXPECT_EQ(*box->Append("event", "next", 0), last + 1);
}

}  // namespace
}  // namespace annex::sync
