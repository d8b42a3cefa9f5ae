#include "sync/agent/command_queue.h"

#include <utility>

#include "appliance/core/log.h"

namespace annex::sync {

CommandQueue::CommandQueue(Execute execute) : execute_(std::move(execute)), thread_([this] { Run(); }) {}

CommandQueue::~CommandQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CommandQueue::Submit(std::string id, std::string kind, std::string args_json) {
  {
    std::lock_guard lock(mu_);
    if (!waiting_ids_.insert(id).second) return;  // redelivered while still waiting
    queue_.push_back({std::move(id), std::move(kind), std::move(args_json)});
  }
  cv_.notify_all();
}

void CommandQueue::SetReporter(Report report) {
  std::lock_guard lock(report_mu_);
  report_ = std::move(report);
}

void CommandQueue::Run() {
  while (true) {
    Pending c;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      c = std::move(queue_.front());
      queue_.pop_front();
      waiting_ids_.erase(c.id);
    }
    Result<std::string> r = execute_ ? execute_(c.kind, c.args_json)
                                     : Result<std::string>(Status::NotFound("no command executor"));
    log::Info("sync: command", {{"id", c.id}, {"kind", c.kind}, {"ok", r.ok() ? "true" : "false"}});
    std::lock_guard lock(report_mu_);
    bool sent = report_ && report_(c.id, r.ok(), r.ok() ? *r : r.status().message());
    if (!sent) log::Info("sync: command result waits for the next session", {{"id", c.id}});
  }
}

}  // namespace annex::sync
