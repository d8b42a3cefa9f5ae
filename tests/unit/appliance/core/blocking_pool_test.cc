#include <utility>

#include "appliance/os/blocking_pool.h"
#include "appliance/os/background_run.h"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <thread>

#include "appliance/core/result.h"

namespace annex::os {
namespace {

TEST(BlockingPool, RunsOffTheIoThreadAndReturnsResults) {
  boost::asio::io_context io;
  BlockingPool pool(2);
  std::thread::id io_thread = std::this_thread::get_id(), work_thread, resumed_thread;
  Result<int> result = Status::Internal("not run");
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        result = co_await pool.Run([&]() -> Result<int> {
          work_thread = std::this_thread::get_id();
          return 42;
        });
        resumed_thread = std::this_thread::get_id();
      },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_NE(work_thread, io_thread);
  EXPECT_EQ(resumed_thread, io_thread);  // the coroutine comes back to its own executor
}

// The coroutine goes on while the work runs, and Wait() hands back its
// status on the coroutine's own thread, whether the work finished before
// or after the wait began.
TEST(BackgroundRun, OverlapsWorkWithTheCoroutine) {
  boost::asio::io_context io;
  BlockingPool pool(2);
  std::atomic<bool> release{false};
  bool overlapped = false, early_done = false;
  Status slow_status, early_status;
  std::thread::id io_thread = std::this_thread::get_id(), resumed_thread;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        BackgroundRun slow(pool, [&] {
          while (!release) std::this_thread::yield();
          return Status::Corruption("slow");
        });
        BackgroundRun early(pool, [] { return Status::OK(); });
        overlapped = true;  // reached while `slow` is still blocked
        release = true;
        early_status = co_await early.Wait();
        early_done = true;
        slow_status = co_await slow.Wait();
        resumed_thread = std::this_thread::get_id();
      },
      boost::asio::detached);
  io.run();
  EXPECT_TRUE(overlapped);
  EXPECT_TRUE(early_done);
  EXPECT_TRUE(early_status.ok());
  EXPECT_EQ(slow_status.code(), StatusCode::kCorruption) << slow_status.ToString();
  EXPECT_EQ(resumed_thread, io_thread);
}

// With the io_context run by two threads the completion and the wait race
// each other; no wake-up may be lost (the harness of the S3 service tests
// runs its io_context so, and a lost one hung them).
TEST(BackgroundRun, NoLostWakeUpOnAMultiThreadedIoContext) {
  boost::asio::io_context io;
  BlockingPool pool(2);
  std::atomic<int> completed{0};
  constexpr int kCoroutines = 4, kRuns = 500;
  for (int c = 0; c < kCoroutines; ++c) {
    boost::asio::co_spawn(
        io,
        [&]() -> Task<void> {
          for (int i = 0; i < kRuns; ++i) {
            BackgroundRun run(pool, [] { return Status::OK(); });
            if ((co_await run.Wait()).ok()) ++completed;
          }
        },
        boost::asio::detached);
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  EXPECT_EQ(completed.load(), kCoroutines * kRuns);
}

// A run nobody awaits still finishes before its destructor returns, so the
// buffers its work writes outlive it.
TEST(BackgroundRun, DestructorWaitsForUnawaitedWork) {
  boost::asio::io_context io;
  BlockingPool pool(1);
  std::atomic<int> written{0};
  {
    BackgroundRun run(pool, [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      written = 1;
      return Status::OK();
    });
  }
  EXPECT_EQ(written.load(), 1);
  io.run();  // the completion posted to the io_context finds its state alive
}

}  // namespace
}  // namespace annex::os
