#pragma once
// WakeLoop: a thread that runs a step again and again until Stop(). After
// each run it sleeps for as long as the step asks, or until Wake() — so a
// worker polls slowly while idle and reacts at once when told there is work
// (the scheduler after a new schedule, the event bus after a publish).
//
// Thread-safe. Stop() joins the thread; a step must not call Stop().

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace annex {

class WakeLoop {
 public:
  // Runs once per iteration; returns how long to sleep before the next.
  using Step = std::function<std::chrono::milliseconds()>;

  WakeLoop() = default;
  WakeLoop(const WakeLoop&) = delete;
  WakeLoop& operator=(const WakeLoop&) = delete;
  ~WakeLoop() { Stop(); }

  // Starts the thread; a second Start() while running does nothing.
  void Start(Step step) {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this, step = std::move(step)] {
      while (true) {
        auto sleep = step();
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, sleep, [this] { return stopping_ || woken_; });
        if (stopping_) return;
        woken_ = false;
      }
    });
  }

  // Cuts the current (or next) sleep short.
  void Wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

  void Stop() {
    std::thread thread;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      thread = std::move(thread_);
    }
    cv_.notify_all();
    if (thread.joinable()) thread.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace annex
