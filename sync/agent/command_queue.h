#pragma once
// CommandQueue: the control plane's commands, run one at a time on a thread
// of their own, so a slow one (creating a database) never holds up the
// session's reader and the acknowledgements it carries. A result goes to
// whichever session is live when the command finishes; with none, it is
// dropped, and the control plane — which still sees the command as
// delivered — sends it again in the next session (commands are idempotent).
// A command already waiting is not queued twice.
//
// Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "appliance/core/result.h"

namespace annex::sync {

class CommandQueue {
 public:
  using Execute = std::function<Result<std::string>(const std::string& kind, const std::string& args_json)>;
  // Sends a finished command's result; false if the session could not take it.
  using Report = std::function<bool(const std::string& id, bool ok, const std::string& message)>;

  explicit CommandQueue(Execute execute);
  ~CommandQueue();  // lets the running command finish; drops the waiting ones
  CommandQueue(const CommandQueue&) = delete;
  CommandQueue& operator=(const CommandQueue&) = delete;

  void Submit(std::string id, std::string kind, std::string args_json);
  // The live session's reporter; null while there is none. Returns once no
  // report through the previous one is in progress.
  void SetReporter(Report report);

 private:
  struct Pending {
    std::string id, kind, args_json;
  };
  void Run();

  Execute execute_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // under mu_
  std::set<std::string> waiting_ids_;  // under mu_
  bool stopping_ = false;              // under mu_
  std::mutex report_mu_;  // held while reporting, so SetReporter can wait a report out
  Report report_;          // under report_mu_
  std::thread thread_;
};

}  // namespace annex::sync
