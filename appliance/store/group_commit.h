#pragma once
// GroupCommitter: many writers, one transaction, one fsync.
//
// Each Submit()ted operation runs inside a nested transaction of a shared
// batch; a dedicated thread commits the batch, so N concurrent requests pay
// for one fsync instead of N. An operation that fails is rolled back alone;
// the others still commit. Completion callbacks run on the committer thread
// after the batch is durable — keep them short (post to an executor).
//
// Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "appliance/store/lmdb_env.h"

namespace annex::store {

class GroupCommitter {
 public:
  using Operation = std::function<Status(WriteTxn&)>;
  using Done = std::function<void(Status)>;

  explicit GroupCommitter(LmdbEnv& env);
  ~GroupCommitter();  // commits what is queued, then stops

  // Queues `op`; `done` gets its result once durable (or failed).
  void Submit(Operation op, Done done);
  // Blocking convenience: Submit and wait.
  Status Run(Operation op);

 private:
  struct Pending {
    Operation op;
    Done done;
  };
  void Loop();
  void CommitBatch(std::deque<Pending>& batch);

  LmdbEnv& env_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace annex::store
