#include "appliance/logs/log_store.h"

#include <algorithm>
#include <future>

#include "appliance/core/log.h"
#include "appliance/logs/log_chunk.h"
#include "appliance/logs/log_journal.h"
#include "appliance/logs/log_records.h"
#include "appliance/logs/log_store_view.h"
#include "appliance/logs/pending_chunks.h"
#include "appliance/store/counter.h"
#include "appliance/os/clock.h"
#include "appliance/store/group_commit.h"
#include "appliance/store/lmdb_env.h"
#include "appliance/store/record.h"

namespace annex::logs {
namespace {

// A group's record, or NotFound.
Result<GroupRecord> RequireGroup(const store::ReadTxn& txn, const LogTables& t, const std::string& account,
                                 const std::string& group) {
  ANNEX_ASSIGN_OR_RETURN(auto g, LoadGroup(txn, t, account, group));
  if (!g) return GroupNotFound(group);
  return std::move(*g);
}

// Moves a stream's events to the doomed list and drops its record.
Status DoomStream(store::WriteTxn& txn, const LogTables& t, uint64_t group_id, const StreamRecord& s) {
  ANNEX_RETURN_IF_ERROR(txn.Delete(t.streams, StreamKey(group_id, s.name)));
  if (s.stored_bytes == 0 && !s.has_events) return Status::OK();
  std::string key;
  store::AppendBigEndian64(key, s.id);
  return txn.Put(t.doomed, key, "");
}

}  // namespace

LogStore::LogStore(Options options, std::unique_ptr<store::LmdbEnv> env, std::unique_ptr<LogTables> tables)
    : options_(std::move(options)),
      env_(std::move(env)),
      tables_(std::move(tables)),
      pending_(std::make_unique<PendingChunks>()) {}

Result<std::unique_ptr<LogStore>> LogStore::Open(const Options& options) {
  if (!options.clock) return Status::InvalidArgument("log store needs a clock");
  store::LmdbEnv::Options env_options;
  env_options.defer_meta_sync = true;  // one flush per group-committed batch
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(options.dir, env_options));
  auto tables = std::make_unique<LogTables>();
  ANNEX_ASSIGN_OR_RETURN(tables->groups, env->OpenTable("groups"));
  ANNEX_ASSIGN_OR_RETURN(tables->streams, env->OpenTable("streams"));
  ANNEX_ASSIGN_OR_RETURN(tables->events, env->OpenTable("events"));
  ANNEX_ASSIGN_OR_RETURN(tables->doomed, env->OpenTable("doomed"));
  ANNEX_ASSIGN_OR_RETURN(tables->meta, env->OpenTable("meta"));
  std::unique_ptr<LogStore> s(new LogStore(options, std::move(env), std::move(tables)));
  s->committer_ = std::make_unique<store::GroupCommitter>(*s->env_);
  ANNEX_RETURN_IF_ERROR(s->RecoverJournal());
  ANNEX_RETURN_IF_ERROR(s->LoadTotals());
  s->append_thread_ = std::thread([p = s.get()] { p->AppendLoop(); });
  if (options.maintenance_interval.count() > 0) {
    s->maintenance_thread_ = std::thread([p = s.get()] { p->MaintenanceLoop(); });
  }
  return s;
}

LogStore::~LogStore() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  {
    std::lock_guard lock(append_mu_);
    append_stopping_ = true;
  }
  append_cv_.notify_all();
  if (append_thread_.joinable()) append_thread_.join();  // answers what is queued, commits what is pending
  committer_.reset();  // commits what is queued
}

int64_t LogStore::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.clock->Now().time_since_epoch()).count();
}

Status LogStore::Write(std::function<Status(store::WriteTxn&)> op) { return committer_->Run(std::move(op)); }

uint64_t LogStore::stored_bytes() const {
  return total_bytes_.load(std::memory_order_relaxed) + pending_->bytes();
}

Status LogStore::LoadTotals() {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(uint64_t total, store::ReadCounter(txn, tables_->meta, kTotalBytes));
  total_bytes_ = total;
  return Status::OK();
}

Status LogStore::CreateGroup(const std::string& account, const std::string& group, const Tags& tags) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto existing, LoadGroup(txn, *tables_, account, group));
    if (existing) return Status::AlreadyExists("The specified log group already exists");
    return NewGroup(txn, *tables_, account, group, NowMs(), tags).status();
  });
}

Status LogStore::DeleteGroup(const std::string& account, const std::string& group) {
  // Journaled events first, so the group's bytes and its doomed events include them.
  ANNEX_RETURN_IF_ERROR(ApplyAll());
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(txn, *tables_, account, group));
    // Stream records go now (a few bytes each); their events in the background.
    std::vector<StreamRecord> streams;
    {
      ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(tables_->streams));
      std::string prefix = StreamKeyPrefix(g.id);
      Status scan = c.Seek(prefix);
      for (; scan.ok() && c.Valid() && c.key().starts_with(prefix); scan = c.Next()) {
        ANNEX_ASSIGN_OR_RETURN(StreamRecord s, DecodeStream(c.value()));
        streams.push_back(std::move(s));
      }
      ANNEX_RETURN_IF_ERROR(scan);
    }
    for (const auto& s : streams) ANNEX_RETURN_IF_ERROR(DoomStream(txn, *tables_, g.id, s));
    return txn.Delete(tables_->groups, GroupKey(account, group));
  });
}

Result<LogStore::ReadView> LogStore::BeginReadView() const {
  auto snapshot = pending_->Snapshot();  // before the transaction: see pending_chunks.h
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(PendingView pending, PendingView::Make(*snapshot, txn, *tables_));
  return ReadView{std::move(txn), std::move(pending)};
}

Result<LogGroupInfo> LogStore::GetGroup(const std::string& account, const std::string& group) const {
  ANNEX_ASSIGN_OR_RETURN(ReadView view, BeginReadView());
  ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(view.txn, *tables_, account, group));
  g.stored_bytes += view.pending.GroupBytes(g.id);
  return ToInfo(g);
}

namespace {
bool ContainsCaseInsensitive(std::string_view hay, std::string_view needle) {
  auto lower = [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); };
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != hay.end();
}
}  // namespace

Result<GroupPage> LogStore::ListGroups(const std::string& account, const ListGroupsQuery& query) const {
  ANNEX_ASSIGN_OR_RETURN(ReadView view, BeginReadView());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, view.txn.OpenCursor(tables_->groups));
  std::string account_prefix = GroupKeyPrefix(account);
  std::string start = account_prefix + NameKey(query.prefix);
  if (!query.after.empty()) start = std::max(start, GroupKey(account, query.after));
  GroupPage page;
  Status scan = c.Seek(start);
  for (; scan.ok() && c.Valid() && c.key().starts_with(account_prefix); scan = c.Next()) {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, DecodeGroup(c.value()));
    if (!query.after.empty() && g.name <= query.after) continue;
    if (!std::string_view(g.name).starts_with(query.prefix)) {
      if (g.name > query.prefix) break;  // past every name with the prefix
      continue;
    }
    if (!query.contains_ci.empty() && !ContainsCaseInsensitive(g.name, query.contains_ci)) continue;
    if (page.groups.size() == query.limit) {
      page.more = true;
      break;
    }
    g.stored_bytes += view.pending.GroupBytes(g.id);
    page.groups.push_back(ToInfo(g));
  }
  ANNEX_RETURN_IF_ERROR(scan);
  return page;
}

Status LogStore::SetRetention(const std::string& account, const std::string& group, std::optional<int> days) {
  Status s = Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(txn, *tables_, account, group));
    g.retention_days = days.value_or(0);
    return txn.Put(tables_->groups, GroupKey(account, group), EncodeGroup(g));
  });
  if (s.ok() && days) Kick();  // a shorter retention may expire events now
  return s;
}

Status LogStore::TagGroup(const std::string& account, const std::string& group, const Tags& tags) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(txn, *tables_, account, group));
    for (const auto& [k, v] : tags) g.tags[k] = v;
    return txn.Put(tables_->groups, GroupKey(account, group), EncodeGroup(g));
  });
}

Status LogStore::UntagGroup(const std::string& account, const std::string& group,
                            const std::vector<std::string>& keys) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(txn, *tables_, account, group));
    for (const auto& k : keys) g.tags.erase(k);
    return txn.Put(tables_->groups, GroupKey(account, group), EncodeGroup(g));
  });
}

Status LogStore::CreateStream(const std::string& account, const std::string& group, const std::string& stream) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(txn, *tables_, account, group));
    ANNEX_ASSIGN_OR_RETURN(auto existing, LoadStream(txn, *tables_, g.id, stream));
    if (existing) return Status::AlreadyExists("The specified log stream already exists");
    return NewStream(txn, *tables_, g.id, stream, NowMs()).status();
  });
}

Status LogStore::DeleteStream(const std::string& account, const std::string& group, const std::string& stream) {
  ANNEX_RETURN_IF_ERROR(ApplyAll());  // as DeleteGroup
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(txn, *tables_, account, group));
    ANNEX_ASSIGN_OR_RETURN(auto s, LoadStream(txn, *tables_, g.id, stream));
    if (!s) return StreamNotFound(stream);
    g.stored_bytes -= std::min(g.stored_bytes, s->stored_bytes);
    ANNEX_RETURN_IF_ERROR(txn.Put(tables_->groups, GroupKey(account, group), EncodeGroup(g)));
    return DoomStream(txn, *tables_, g.id, *s);
  });
}

Result<std::vector<LogStreamInfo>> LogStore::ListStreams(const std::string& account, const std::string& group,
                                                         const std::string& prefix) const {
  ANNEX_ASSIGN_OR_RETURN(ReadView view, BeginReadView());
  ANNEX_ASSIGN_OR_RETURN(GroupRecord g, RequireGroup(view.txn, *tables_, account, group));
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, view.txn.OpenCursor(tables_->streams));
  std::string group_prefix = StreamKeyPrefix(g.id);
  std::vector<LogStreamInfo> out;
  Status scan = c.Seek(group_prefix + NameKey(prefix));
  for (; scan.ok() && c.Valid() && c.key().starts_with(group_prefix); scan = c.Next()) {
    ANNEX_ASSIGN_OR_RETURN(StreamRecord s, DecodeStream(c.value()));
    if (!std::string_view(s.name).starts_with(prefix)) {
      if (s.name > prefix) break;
      continue;
    }
    out.push_back(ToInfo(view.pending.Merged(s)));
  }
  ANNEX_RETURN_IF_ERROR(scan);
  // Names over the plain-key length sort by prefix and hash in LMDB; the API sorts by name.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void LogStore::AppendAsync(std::string account, std::string group, std::string stream, std::vector<LogEvent> events,
                           bool create_missing, std::function<void(Status)> done) {
  // Encoding (and compressing) here spreads that work over the callers'
  // threads: the append thread only numbers, journals and flushes.
  std::shared_ptr<PendingChunk> chunk;
  if (!events.empty()) {
    std::vector<const LogEvent*> sorted;  // time order; equal times keep their order
    sorted.reserve(events.size());
    for (const LogEvent& e : events) sorted.push_back(&e);
    auto earlier = [](const LogEvent* a, const LogEvent* b) { return a->timestamp_ms < b->timestamp_ms; };
    if (!std::is_sorted(sorted.begin(), sorted.end(), earlier)) {  // PutLogEvents batches always are
      std::stable_sort(sorted.begin(), sorted.end(), earlier);
    }
    chunk = std::make_shared<PendingChunk>();
    chunk->account = account;
    chunk->group = group;
    chunk->stream = stream;
    chunk->first_ms = sorted.front()->timestamp_ms;
    chunk->last_ms = sorted.back()->timestamp_ms;
    chunk->count = sorted.size();
    for (const LogEvent* e : sorted) chunk->bytes += e->message.size();
    chunk->ingestion_ms = NowMs();
    chunk->chunk = EncodeChunk(chunk->ingestion_ms, sorted);
  }
  {
    std::lock_guard lock(append_mu_);
    if (!append_stopping_) {
      append_queue_.push_back(AppendRequest{std::move(chunk), std::move(account), std::move(group),
                                            std::move(stream), create_missing, std::move(done)});
      append_cv_.notify_all();
      return;
    }
  }
  done(Status::Unavailable("the log store is closing"));
}

Status LogStore::Append(std::string account, std::string group, std::string stream, std::vector<LogEvent> events,
                        bool create_missing) {
  std::promise<Status> result;
  auto future = result.get_future();
  AppendAsync(std::move(account), std::move(group), std::move(stream), std::move(events), create_missing,
              [&result](Status s) { result.set_value(std::move(s)); });
  return future.get();
}

void LogStore::Kick() {
  {
    std::lock_guard lock(maintenance_mu_);
    kicked_ = true;
  }
  maintenance_cv_.notify_all();
}

void LogStore::MaintenanceLoop() {
  std::unique_lock lock(maintenance_mu_);
  while (!stopping_) {
    maintenance_cv_.wait_for(lock, options_.maintenance_interval, [this] { return stopping_ || kicked_; });
    if (stopping_) break;
    kicked_ = false;
    lock.unlock();
    // Until caught up, in rounds, so a stop request waits for one round at most.
    bool done = false;
    while (!done) {
      auto report = Maintain(16);
      if (!report.ok()) {
        log::Warn("logs: maintenance failed", {{"error", report.status().ToString()}});
        break;
      }
      done = report->done;
      std::lock_guard check(maintenance_mu_);
      if (stopping_) break;
    }
    lock.lock();
  }
}

}  // namespace annex::logs
