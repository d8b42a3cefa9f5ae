#pragma once
// LogStore: the appliance's one store of log lines — CloudWatch Logs groups,
// streams and events — for the Logs API and for platform code (the
// supervisor appends each workload's output to a stream its owner names).
// It knows no HTTP: errors are Status codes (NotFound, AlreadyExists,
// InvalidArgument) that callers translate.
//
// Everything is namespaced by account id: no name reaches another account's
// groups.
//
// Storage: an append goes first to a write-ahead journal (log_journal.h):
// one sequential write and one flush, shared by the appends that arrive
// together, and then it is acknowledged. Its events are readable from that
// moment (pending_chunks.h). A background commit copies journaled appends
// into one LMDB environment (<dir>/data.mdb) many at a time, together with
// the journal position they reach; after a crash, Open replays the journal
// from there. In LMDB each append is one chunk (log_chunk.h) keyed (stream
// id, first timestamp, seq), so a stream read or a "since t" read is a seek
// and a range scan (log_stream_cursor.h merges chunks that overlap in time);
// group and stream records carry the counters the API reports. Group and
// stream changes commit to LMDB directly (store::GroupCommitter).
//
// Eviction: per-group retention (days) and a bound on the bytes stored
// (oldest events first) are enforced by Maintain(), which deletes in bounded
// batches — one short transaction each, so appends wait for at most one.
// A background thread runs it periodically and when an append crosses the
// bound. Deleting a group or stream removes its records at once and its
// events in the background.
//
// Thread-safe. Blocking calls wait for a disk flush: call them off the io
// threads (os::BlockingPool), or use AppendAsync.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/logs/log_types.h"

namespace annex::os {
class Clock;
}
namespace annex::store {
class GroupCommitter;
class LmdbEnv;
class ReadTxn;
class WriteTxn;
}  // namespace annex::store

namespace annex::logs {

struct LogTables;
class LogJournal;
class PendingChunks;
struct PendingChunk;

// Reads one stream in time order.
struct StreamRead {
  std::optional<int64_t> start_ms{};  // inclusive
  std::optional<int64_t> end_ms{};    // exclusive
  // Forward: the oldest events from `start_ms` or after `after`. Backward:
  // the newest events before `end_ms` or `before`. Results are ascending
  // either way.
  bool forward = true;
  std::optional<StreamPosition> after{};
  std::optional<StreamPosition> before{};
  size_t limit = 10000;
  size_t max_bytes = size_t{1} << 20;  // message bytes per answer
};

// A position in a group-wide read: events of a group are merged in
// (timestamp, stream id, seq) order.
struct GroupPosition {
  int64_t timestamp_ms = 0;
  uint64_t stream_id = 0;
  uint64_t seq = 0;
};

// Reads the events of some or all streams of a group, merged in time order.
struct GroupRead {
  std::vector<std::string> stream_names{};  // empty: every stream (with stream_prefix)
  std::string stream_prefix{};
  std::optional<int64_t> start_ms{};  // inclusive
  std::optional<int64_t> end_ms{};    // exclusive
  std::optional<GroupPosition> after{};
  size_t limit = 10000;
  size_t max_bytes = size_t{1} << 20;
  // Events examined before the read stops with a resume position, so a
  // selective filter over a large group answers in bounded time.
  size_t scan_budget = 100000;
  std::function<bool(std::string_view message)> match{};  // null: every event
};

struct GroupReadResult {
  std::vector<StoredEvent> events;
  std::vector<std::string> searched_streams;
  std::optional<GroupPosition> resume;  // more may follow from here
};

struct ListGroupsQuery {
  std::string prefix{};
  std::string contains_ci{};   // case-insensitive substring (logGroupNamePattern)
  std::string after{};         // names after this one
  size_t limit = 50;
};

struct GroupPage {
  std::vector<LogGroupInfo> groups;
  bool more = false;
};

// What Maintain() did, for logs and tests.
struct MaintenanceReport {
  uint64_t events_expired = 0;   // past their group's retention
  uint64_t events_evicted = 0;   // for the size bound
  uint64_t events_dropped = 0;   // of deleted groups and streams
  bool done = true;              // false: stopped at the batch limit with work left
};

class LogStore {
 public:
  struct Options {
    std::string dir;
    os::Clock* clock = nullptr;
    // Message bytes kept in all; beyond, the oldest events are evicted.
    uint64_t max_bytes = uint64_t{4} << 30;
    // How often the background thread enforces retention; 0: no thread
    // (tests call Maintain themselves).
    std::chrono::milliseconds maintenance_interval{std::chrono::seconds(60)};
    size_t batch_events = 5000;  // events deleted per transaction
    // Journaled appends wait at most this long for their LMDB commit (or
    // until apply_bytes are pending); 0: committed right after each flush.
    std::chrono::milliseconds apply_interval{20};
    uint64_t apply_bytes = uint64_t{8} << 20;
    // The journal starts over once it is this large and LMDB has it all.
    uint64_t journal_rotate_bytes = uint64_t{64} << 20;
  };

  static Result<std::unique_ptr<LogStore>> Open(const Options& options);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // Groups. AlreadyExists / NotFound as the names say.
  Status CreateGroup(const std::string& account, const std::string& group, const Tags& tags = {});
  Status DeleteGroup(const std::string& account, const std::string& group);
  Result<LogGroupInfo> GetGroup(const std::string& account, const std::string& group) const;
  Result<GroupPage> ListGroups(const std::string& account, const ListGroupsQuery& query) const;
  // nullopt: keep events until the size bound evicts them.
  Status SetRetention(const std::string& account, const std::string& group, std::optional<int> days);
  Status TagGroup(const std::string& account, const std::string& group, const Tags& tags);
  Status UntagGroup(const std::string& account, const std::string& group, const std::vector<std::string>& keys);

  // Streams (NotFound names which is missing: "log group" or "log stream").
  Status CreateStream(const std::string& account, const std::string& group, const std::string& stream);
  Status DeleteStream(const std::string& account, const std::string& group, const std::string& stream);
  // Every stream of the group whose name starts with `prefix`, by name.
  Result<std::vector<LogStreamInfo>> ListStreams(const std::string& account, const std::string& group,
                                                 const std::string& prefix = {}) const;

  // Appends events to a stream, in any order (readers see them by
  // timestamp). With `create_missing`, a missing group or stream is created
  // first; otherwise it is NotFound. Durable, and readable, when `done` gets
  // OK; `done` runs on the store's append thread — keep it short.
  void AppendAsync(std::string account, std::string group, std::string stream, std::vector<LogEvent> events,
                   bool create_missing, std::function<void(Status)> done);
  // Blocking form of AppendAsync.
  Status Append(std::string account, std::string group, std::string stream, std::vector<LogEvent> events,
                bool create_missing = false);

  Result<std::vector<StoredEvent>> ReadStream(const std::string& account, const std::string& group,
                                              const std::string& stream, const StreamRead& read) const;
  Result<GroupReadResult> ReadGroup(const std::string& account, const std::string& group,
                                    const GroupRead& read) const;

  // One round of eviction: retention, the size bound, deleted groups and
  // streams — at most `max_batches` transactions of Options::batch_events —
  // after committing the journaled appends to LMDB.
  Result<MaintenanceReport> Maintain(size_t max_batches = 64);

  // Message bytes held, committed to LMDB or still only journaled.
  uint64_t stored_bytes() const;
  const Options& options() const { return options_; }

 private:
  struct AppendRequest {
    // Encoded by the caller's thread, names filled in; ids and seqs are the
    // append thread's to give. Null for an append without events.
    std::shared_ptr<PendingChunk> chunk;
    std::string account, group, stream;
    bool create_missing = false;
    std::function<void(Status)> done;
  };

  // A read transaction and the pending appends it does not hold yet.
  struct ReadView;
  Result<ReadView> BeginReadView() const;

  LogStore(Options options, std::unique_ptr<store::LmdbEnv> env, std::unique_ptr<LogTables> tables);
  int64_t NowMs() const;
  Status Write(std::function<Status(store::WriteTxn&)> op);
  Status LoadTotals();
  void MaintenanceLoop();
  void Kick();

  // The journal: recovery at Open, then the append thread.
  Status RecoverJournal();
  void AppendLoop();
  // Resolves the stream (creating it if asked) and numbers the chunk's
  // events; the chunk is null for an empty append.
  Result<std::shared_ptr<PendingChunk>> Prepare(AppendRequest& request);
  // Copies journaled chunks into LMDB, with the journal position they reach.
  Status ApplyChunks(store::WriteTxn& txn, const std::vector<std::shared_ptr<const PendingChunk>>& chunks,
                     uint64_t& added_bytes);
  // Starts a background commit of what is pending; false if one is running.
  bool StartApply();
  // Commits everything pending now and waits for it (any thread).
  Status ApplyAll();

  Options options_;
  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<LogTables> tables_;
  std::unique_ptr<store::GroupCommitter> committer_;
  std::unique_ptr<LogJournal> journal_;              // append thread only (and Open, before it starts)
  std::unique_ptr<PendingChunks> pending_;
  std::unordered_map<uint64_t, uint64_t> next_seq_;  // stream id → next seq; append thread only
  std::atomic<uint64_t> total_bytes_{0};

  std::mutex append_mu_;
  std::condition_variable append_cv_;
  std::deque<AppendRequest> append_queue_;
  bool append_stopping_ = false;
  bool applying_ = false;      // a background commit is running
  bool apply_failed_ = false;  // the last one failed: wait before the next
  std::thread append_thread_;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread maintenance_thread_;
};

}  // namespace annex::logs
