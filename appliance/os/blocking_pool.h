#pragma once
// BlockingPool: a few threads for work that blocks (fsync, large file I/O,
// directory scans), so the io_context threads never stall on the disk.
//
//   Status s = co_await pool.Run([&] { return file->Sync(); });
//
// The coroutine resumes on its own executor once the work is done.

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>

namespace annex::os {

class BlockingPool {
 public:
  explicit BlockingPool(size_t threads) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }

  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F>> Run(F fn) {
    using R = std::invoke_result_t<F>;
    co_return co_await boost::asio::co_spawn(
        pool_.get_executor(), [fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> { co_return fn(); },
        boost::asio::use_awaitable);
  }

  void Stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace annex::os
