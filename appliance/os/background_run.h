#pragma once
// BackgroundRun: work started on a BlockingPool now and awaited later, so a
// coroutine can overlap it with its own I/O (read and decrypt the next
// window of a file while the current one is being sent).
//
//   BackgroundRun next(pool, [&] { return Decrypt(window); });
//   co_await Send(current);
//   Status s = co_await next.Wait();
//
// The work usually refers to the caller's buffers: Wait() must be awaited
// before they go, on error paths too. Destroying an unawaited run blocks
// until the work is done.

#include <functional>
#include <memory>

#include "appliance/core/status.h"
#include "appliance/core/task.h"
#include "appliance/os/blocking_pool.h"

namespace annex::os {

class BackgroundRun {
 public:
  // Starts `work` on `pool`.
  BackgroundRun(BlockingPool& pool, std::function<Status()> work);
  ~BackgroundRun();
  BackgroundRun(const BackgroundRun&) = delete;
  BackgroundRun& operator=(const BackgroundRun&) = delete;

  // The work's status, once it has finished, on the awaiting coroutine's
  // executor (which may run on several threads). Await at most once.
  Task<Status> Wait();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace annex::os
