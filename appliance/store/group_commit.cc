#include "appliance/store/group_commit.h"

#include "appliance/core/log.h"

namespace annex::store {

GroupCommitter::GroupCommitter(LmdbEnv& env) : env_(env), thread_([this] { Loop(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void GroupCommitter::Submit(Operation op, Done done) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(Status::Unavailable("store is shutting down"));
      return;
    }
    queue_.push_back({std::move(op), std::move(done)});
  }
  cv_.notify_one();
}

Status GroupCommitter::Run(Operation op) {
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;
  Status result;
  Submit(std::move(op), [&](Status s) {
    std::lock_guard lock(m);
    result = std::move(s);
    finished = true;
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return finished; });
  return result;
}

void GroupCommitter::Loop() {
  while (true) {
    std::deque<Pending> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || unacknowledged_; });
      batch.swap(queue_);
    }
    if (batch.empty()) {
      // Nothing follows the last batch to carry its meta page: flush it now.
      if (unacknowledged_) {
        Acknowledge(env_.SyncMetaPage());
        continue;
      }
      return;  // stopping, all acknowledged
    }
    CommitBatch(batch);
  }
}

void GroupCommitter::Acknowledge(const Status& durable) {
  if (!durable.ok()) log::Error("group commit failed", {{"error", durable.ToString()}});
  Unacknowledged& u = *unacknowledged_;
  for (size_t i = 0; i < u.batch.size(); ++i) u.batch[i].done(durable.ok() ? std::move(u.results[i]) : durable);
  unacknowledged_.reset();
}

// Runs every operation in its own nested transaction of one batch, commits
// the batch with one fsync, then reports each outcome.
void GroupCommitter::CommitBatch(std::deque<Pending>& batch) {
  std::vector<Status> results(batch.size());
  auto txn = env_.BeginWrite();
  if (!txn.ok()) {
    for (auto& p : batch) p.done(txn.status());
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    auto nested = txn->BeginNested();
    if (!nested.ok()) {
      results[i] = nested.status();
      continue;
    }
    results[i] = batch[i].op(*nested);
    if (results[i].ok()) {
      results[i] = nested->Commit();
    } else {
      nested->Abort();
    }
  }
  if (!env_.defers_meta_sync()) {
    Status commit = txn->Commit();
    if (!commit.ok()) log::Error("group commit failed", {{"error", commit.ToString()}});
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(commit.ok() ? std::move(results[i]) : commit);
    return;
  }
  // This commit's data flush also flushes the previous batch's meta page —
  // if it wrote anything: LMDB skips both the write and the flush of a
  // transaction without changes (every operation failed or wrote nothing).
  uint64_t before = env_.LastTxnId();
  Status commit = txn->CommitDeferred();
  bool flushed = commit.ok() && env_.LastTxnId() != before;
  if (unacknowledged_) Acknowledge(flushed ? Status::OK() : env_.SyncMetaPage());
  unacknowledged_ = Unacknowledged{std::move(batch), std::move(results)};
  if (!commit.ok()) {
    Acknowledge(commit);
  } else if (!flushed) {
    Acknowledge(Status::OK());  // nothing of its own to make durable
  }
}

}  // namespace annex::store
