#pragma once
// Task<T>: the coroutine type of the request path, an Asio awaitable bound to
// an io_context's executor. A concrete executor, not the type-erased
// any_io_executor, spares every asynchronous operation the copies and
// destruction of a polymorphic executor: a sixth of annexd's user CPU per
// small GET (docs/performance.md).
//
//   Task<Status> Handle(...) { co_await socket.async_wait(..., use_task); }

// Boost 1.74's Asio uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace annex {

using TaskExecutor = boost::asio::io_context::executor_type;

template <typename T>
using Task = boost::asio::awaitable<T, TaskExecutor>;

// The completion token that makes an Asio operation awaitable from a Task.
inline constexpr boost::asio::use_awaitable_t<TaskExecutor> use_task{};

}  // namespace annex
