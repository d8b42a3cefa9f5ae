#pragma once
// GroupCommitter: many writers, one transaction, one fsync.
//
// Each Submit()ted operation runs inside a nested transaction of a shared
// batch; a dedicated thread commits the batch, so N concurrent requests pay
// for one fsync instead of N. An operation that fails is rolled back alone;
// the others still commit. Completion callbacks run on the committer thread
// after the batch is durable — keep them short (post to an executor).
//
// In an environment with defer_meta_sync, a batch's commit flushes only its
// data pages; its meta page becomes durable with the next batch's data flush
// (or an explicit meta sync when no batch follows), and only then is it
// acknowledged. Under load every batch thus costs one flush instead of two.
//
// Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>
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
  // A committed batch whose meta page is not yet durable, with its outcomes.
  struct Unacknowledged {
    std::deque<Pending> batch;
    std::vector<Status> results;
  };
  void Loop();
  void CommitBatch(std::deque<Pending>& batch);
  // Reports the unacknowledged batch: its own results if `durable` is OK.
  void Acknowledge(const Status& durable);

  LmdbEnv& env_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::optional<Unacknowledged> unacknowledged_;  // committer thread only
  std::thread thread_;
};

}  // namespace annex::store
