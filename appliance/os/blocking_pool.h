#pragma once
// BlockingPool: a few threads for work that blocks (fsync, large file I/O,
// directory scans), so the io_context threads never stall on the disk.
//
//   Status s = co_await pool.Run([&] { return file->Sync(); });
//
// The coroutine resumes on its own executor once the work is done.

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <type_traits>

#include "appliance/core/task.h"

namespace annex::os {

class BlockingPool {
 public:
  explicit BlockingPool(size_t threads) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }

  // Runs `fn` on a pool thread. Any result type works (Result<T> included):
  // the value travels through the caller's frame, which outlives the call.
  template <typename F>
  Task<std::invoke_result_t<F>> Run(F fn) {
    using R = std::invoke_result_t<F>;
    std::optional<R> out;
    co_await boost::asio::co_spawn(
        pool_.get_executor(), [&]() -> boost::asio::awaitable<void> {
          out.emplace(fn());
          co_return;
        },
        use_task);
    co_return std::move(*out);
  }

  // Runs `fn` on a pool thread without waiting for it (BackgroundRun).
  template <typename F>
  void Post(F fn) {
    boost::asio::post(pool_, std::move(fn));
  }

  void Stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace annex::os
