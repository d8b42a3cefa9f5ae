#include <utility>

#include "appliance/os/blocking_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
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

}  // namespace
}  // namespace annex::os
