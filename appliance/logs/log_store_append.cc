// LogStore's append path: the journal, the append thread, and the
// background commits that copy journaled appends into LMDB.
//
// Threads: the append thread owns the journal and the next-seq map. It takes
// every queued append, resolves and encodes each, writes them all to the
// journal with one flush, publishes them as pending, answers them, and
// starts a background commit (on the GroupCommitter's thread) when the
// oldest pending append has waited apply_interval. A commit removes what it
// applied from the pending set only once it is durable.

#include <algorithm>
#include <chrono>

#include "appliance/core/log.h"
#include "appliance/logs/log_chunk.h"
#include "appliance/logs/log_journal.h"
#include "appliance/logs/log_records.h"
#include "appliance/logs/log_store.h"
#include "appliance/logs/pending_chunks.h"
#include "appliance/store/counter.h"
#include "appliance/store/group_commit.h"
#include "appliance/store/lmdb_env.h"

namespace annex::logs {
namespace {

using SteadyClock = std::chrono::steady_clock;

// After a failed background commit (a full disk), the next try waits this long.
constexpr auto kApplyRetryDelay = std::chrono::seconds(1);

}  // namespace

Status LogStore::RecoverJournal() {
  uint64_t generation = 0, offset = 0;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(generation, store::ReadCounter(txn, tables_->meta, kJournalGeneration));
    ANNEX_ASSIGN_OR_RETURN(offset, store::ReadCounter(txn, tables_->meta, kJournalOffset));
  }
  ANNEX_ASSIGN_OR_RETURN(journal_, LogJournal::Open(options_.dir + "/journal", generation + 1));
  // A journal of another generation was started after LMDB held all of the previous one.
  uint64_t from = journal_->generation() == generation ? offset : 0;
  std::vector<PendingChunkPtr> replayed;
  ANNEX_RETURN_IF_ERROR(journal_->Replay(from, [&](std::string_view payload, uint64_t end) -> Status {
    auto chunk = DecodePendingChunk(payload);
    if (!chunk.ok()) {
      // Intact (its checksum matched) yet unreadable: a bug, not a torn write. Keep the rest.
      log::Error("logs: skipping an unreadable journal record", {{"error", chunk.status().ToString()}});
      return Status::OK();
    }
    chunk->journal_generation = journal_->generation();
    chunk->journal_end = end;
    replayed.push_back(std::make_shared<const PendingChunk>(std::move(*chunk)));
    return Status::OK();
  }));
  if (!replayed.empty()) {
    uint64_t added = 0;
    ANNEX_RETURN_IF_ERROR(Write([&](store::WriteTxn& txn) { return ApplyChunks(txn, replayed, added); }));
    log::Info("logs: recovered appends from the journal", {{"appends", std::to_string(replayed.size())}});
  }
  return journal_->Rotate(journal_->generation() + 1);
}

Status LogStore::ApplyChunks(store::WriteTxn& txn, const std::vector<PendingChunkPtr>& chunks, uint64_t& added_bytes) {
  added_bytes = 0;
  for (const PendingChunkPtr& c : chunks) {
    // A stream or group deleted (or deleted and created again) since the append takes its events with it.
    ANNEX_ASSIGN_OR_RETURN(auto g, LoadGroup(txn, *tables_, c->account, c->group));
    if (!g || g->id != c->group_id) continue;
    ANNEX_ASSIGN_OR_RETURN(auto s, LoadStream(txn, *tables_, g->id, c->stream));
    if (!s || s->id != c->stream_id) continue;
    ANNEX_RETURN_IF_ERROR(txn.Put(tables_->events, EventKey(c->stream_id, c->first_ms, c->first_seq), c->chunk));
    AddChunkToRecord(*s, *c);
    g->stored_bytes += c->bytes;
    ANNEX_RETURN_IF_ERROR(txn.Put(tables_->streams, StreamKey(g->id, c->stream), EncodeStream(*s)));
    ANNEX_RETURN_IF_ERROR(txn.Put(tables_->groups, GroupKey(c->account, c->group), EncodeGroup(*g)));
    added_bytes += c->bytes;
  }
  if (chunks.empty()) return Status::OK();
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, tables_->meta, kJournalGeneration, chunks.back()->journal_generation));
  ANNEX_RETURN_IF_ERROR(store::WriteCounter(txn, tables_->meta, kJournalOffset, chunks.back()->journal_end));
  ANNEX_ASSIGN_OR_RETURN(uint64_t total, store::ReadCounter(txn, tables_->meta, kTotalBytes));
  return store::WriteCounter(txn, tables_->meta, kTotalBytes, total + added_bytes);
}

Result<std::shared_ptr<PendingChunk>> LogStore::Prepare(AppendRequest& r) {
  int64_t now = NowMs();
  std::optional<GroupRecord> g;
  std::optional<StreamRecord> s;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(g, LoadGroup(txn, *tables_, r.account, r.group));
    if (g) {
      ANNEX_ASSIGN_OR_RETURN(s, LoadStream(txn, *tables_, g->id, r.stream));
    }
  }
  if (!g || !s) {
    if (!r.create_missing) return !g ? GroupNotFound(r.group) : StreamNotFound(r.stream);
    ANNEX_RETURN_IF_ERROR(Write([&](store::WriteTxn& txn) -> Status {
      ANNEX_ASSIGN_OR_RETURN(g, LoadGroup(txn, *tables_, r.account, r.group));
      if (!g) {
        ANNEX_ASSIGN_OR_RETURN(g, NewGroup(txn, *tables_, r.account, r.group, now, {}));
      }
      ANNEX_ASSIGN_OR_RETURN(s, LoadStream(txn, *tables_, g->id, r.stream));
      if (!s) {
        ANNEX_ASSIGN_OR_RETURN(s, NewStream(txn, *tables_, g->id, r.stream, now));
      }
      return Status::OK();
    }));
  }
  if (!r.chunk) return std::shared_ptr<PendingChunk>();  // the stream exists: nothing to store
  std::shared_ptr<PendingChunk> c = std::move(r.chunk);
  c->group_id = g->id;
  c->stream_id = s->id;
  // Seqs come from here, not the record, which lags the journal by the pending appends.
  auto [next, inserted] = next_seq_.try_emplace(s->id, s->next_seq);
  c->first_seq = next->second;
  next->second += c->count;
  return c;
}

void LogStore::AppendLoop() {
  std::optional<SteadyClock::time_point> apply_due;  // when pending appends are due for their commit
  SteadyClock::time_point retry_after{};
  std::unique_lock lock(append_mu_);
  while (true) {
    // Wait for appends, or for pending ones to come due (a running commit wakes us when it ends).
    while (!append_stopping_ && append_queue_.empty()) {
      if (apply_failed_) {
        apply_failed_ = false;
        retry_after = SteadyClock::now() + kApplyRetryDelay;
      }
      if (!applying_ && !apply_due && !pending_->empty()) apply_due = SteadyClock::now();  // left by a failed commit
      if (!applying_ && apply_due) {
        auto due = std::max(*apply_due, retry_after);
        if (SteadyClock::now() >= due) break;
        append_cv_.wait_until(lock, due);
      } else {
        append_cv_.wait(lock);
      }
    }
    std::deque<AppendRequest> batch;
    batch.swap(append_queue_);
    bool stopping = append_stopping_;
    lock.unlock();

    // Resolve and encode; answer at once what cannot be stored.
    std::vector<std::shared_ptr<PendingChunk>> chunks;
    std::vector<std::function<void(Status)>> waiting;  // answered after the flush
    for (AppendRequest& r : batch) {
      auto chunk = Prepare(r);
      if (!chunk.ok()) {
        r.done(chunk.status());
      } else if (!*chunk) {
        r.done(Status::OK());
      } else {
        chunks.push_back(std::move(*chunk));
        waiting.push_back(std::move(r.done));
      }
    }
    if (!chunks.empty()) {
      std::vector<std::string> payloads;
      payloads.reserve(chunks.size());
      for (const auto& c : chunks) payloads.push_back(EncodePendingChunk(*c));
      auto ends = journal_->Append(payloads);
      if (!ends.ok()) {
        log::Error("logs: journal append failed", {{"error", ends.status().ToString()}});
        for (auto& done : waiting) done(ends.status());
      } else {
        std::vector<PendingChunkPtr> durable;
        durable.reserve(chunks.size());
        for (size_t i = 0; i < chunks.size(); ++i) {
          chunks[i]->journal_generation = journal_->generation();
          chunks[i]->journal_end = (*ends)[i];
          durable.push_back(std::move(chunks[i]));
        }
        pending_->Add(durable);  // readable before it is acknowledged
        for (auto& done : waiting) done(Status::OK());
        if (!apply_due) apply_due = SteadyClock::now() + options_.apply_interval;
      }
    }

    if (stopping || journal_->size() >= options_.journal_rotate_bytes) {
      // Everything into LMDB first: the journal then holds nothing LMDB lacks.
      Status applied = ApplyAll();
      if (applied.ok()) {
        apply_due.reset();
        Status rotated = journal_->Rotate(journal_->generation() + 1);
        if (!rotated.ok()) log::Error("logs: journal rotation failed", {{"error", rotated.ToString()}});
      } else {
        log::Warn("logs: committing journaled appends failed", {{"error", applied.ToString()}});
        retry_after = SteadyClock::now() + kApplyRetryDelay;
      }
    } else if ((apply_due && SteadyClock::now() >= std::max(*apply_due, retry_after)) ||
               pending_->bytes() >= options_.apply_bytes) {
      if (StartApply()) apply_due.reset();
    }

    lock.lock();
    if (stopping && append_queue_.empty()) return;
  }
}

bool LogStore::StartApply() {
  {
    std::lock_guard lock(append_mu_);
    if (applying_) return false;  // its completion wakes the loop, which tries again
    applying_ = true;
  }
  std::vector<PendingChunkPtr> chunks = pending_->All();
  auto added = std::make_shared<uint64_t>(0);
  committer_->Submit([this, chunks, added](store::WriteTxn& txn) { return ApplyChunks(txn, chunks, *added); },
                     [this, count = chunks.size(), added](Status s) {
                       if (s.ok()) {
                         // Counted before it leaves the pending set: stored_bytes() never dips.
                         bool over = total_bytes_.fetch_add(*added, std::memory_order_relaxed) + *added >
                                     options_.max_bytes;
                         pending_->RemoveOldest(count);
                         if (over) Kick();
                       } else {
                         log::Warn("logs: committing journaled appends failed", {{"error", s.ToString()}});
                       }
                       {
                         std::lock_guard lock(append_mu_);
                         applying_ = false;
                         apply_failed_ = !s.ok();
                       }
                       append_cv_.notify_all();
                     });
  return true;
}

Status LogStore::ApplyAll() {
  {
    std::unique_lock lock(append_mu_);
    append_cv_.wait(lock, [this] { return !applying_; });
    applying_ = true;
  }
  std::vector<PendingChunkPtr> chunks = pending_->All();
  uint64_t added = 0;
  Status s = chunks.empty() ? Status::OK()
                            : Write([&](store::WriteTxn& txn) { return ApplyChunks(txn, chunks, added); });
  if (s.ok()) {
    bool over = total_bytes_.fetch_add(added, std::memory_order_relaxed) + added > options_.max_bytes;
    pending_->RemoveOldest(chunks.size());
    if (over) Kick();
  }
  {
    std::lock_guard lock(append_mu_);
    applying_ = false;
  }
  return s;
}

}  // namespace annex::logs
