#include "appliance/os/background_run.h"

#include <condition_variable>
#include <mutex>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

namespace annex::os {

// Shared by the pool thread and the awaiting coroutine, which may resume on
// any thread of its io_context: everything is under `mu`.
struct BackgroundRun::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;      // `status` is set
  Status status;
  std::function<void()> resume;  // set while Wait() is suspended
  bool finished = false;  // the pool thread no longer touches anything else
};

BackgroundRun::BackgroundRun(BlockingPool& pool, std::function<Status()> work) : state_(std::make_shared<State>()) {
  pool.Post([state = state_, work = std::move(work)] {
    Status s = work();
    std::function<void()> resume;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->status = std::move(s);
      state->done = true;
      resume = std::move(state->resume);
    }
    if (resume) resume();
    // Only now: a destructor that returns must not leave this thread about
    // to post to an io_context that may then be gone.
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
  std::shared_ptr<State> state = state_;
  // The coroutine's handler is kept (or, when the work is already done,
  // posted at once) under the lock the pool thread takes to finish, so a
  // wake-up cannot fall between the check and the wait.
  auto initiate = [state](auto handler) {
    auto executor = boost::asio::get_associated_executor(handler);
    auto held = std::make_shared<decltype(handler)>(std::move(handler));
    std::function<void()> resume = [held, executor] {
      boost::asio::post(executor, [held]() mutable { std::move (*held)(); });
    };
    std::unique_lock<std::mutex> lock(state->mu);
    if (!state->done) {
      state->resume = std::move(resume);
      return;
    }
    lock.unlock();
    resume();
  };
  co_await boost::asio::async_initiate<decltype(use_task), void()>(initiate, use_task);
  std::lock_guard<std::mutex> lock(state->mu);
  co_return std::move(state->status);
}

}  // namespace annex::os
