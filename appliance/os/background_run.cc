#include "appliance/os/background_run.h"

#include <condition_variable>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

namespace annex::os {

struct BackgroundRun::State {
  explicit State(TaskExecutor executor) : executor(executor), wakeup(executor, boost::asio::steady_timer::time_point::max()) {}
  TaskExecutor executor;
  // Touched only on the awaiting coroutine's executor.
  boost::asio::steady_timer wakeup;
  bool done = false;
  Status status;
  // For the destructor of a run never awaited: the pool thread's word.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
};

BackgroundRun::BackgroundRun(BlockingPool& pool, TaskExecutor executor, std::function<Status()> work)
    : state_(std::make_shared<State>(executor)) {
  pool.Post([state = state_, work = std::move(work)] {
    Status s = work();
    boost::asio::post(state->executor, [state, s = std::move(s)]() mutable {
      state->status = std::move(s);
      state->done = true;
      state->wakeup.cancel();
    });
    // Only after the post: a destructor that returns must not leave this
    // thread about to touch an io_context that may then be gone.
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->finished = true;
    }
    state->cv.notify_all();
  });
}

BackgroundRun::~BackgroundRun() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->finished; });
}

Task<Status> BackgroundRun::Wait() {
  while (!state_->done) {
    boost::system::error_code ignored;  // cancelled is the wake-up
    co_await state_->wakeup.async_wait(boost::asio::redirect_error(use_task, ignored));
  }
  co_return std::move(state_->status);
}

}  // namespace annex::os
