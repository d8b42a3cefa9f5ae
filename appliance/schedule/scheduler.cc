#include "appliance/schedule/scheduler.h"

#include <algorithm>
#include <utility>

#include "appliance/core/log.h"
#include "appliance/store/record.h"

namespace annex::schedule {
namespace {

constexpr uint8_t kRecordVersion = 1;
// The thread re-reads the clock at least this often (clock moves, wall-clock jumps).
constexpr std::chrono::seconds kMaxSleep{1};

int64_t ToMs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint FromMs(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

Status Invalid(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "ValidationException");
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '/' || c == '-';
  });
}

// One stored schedule: its state plus a generation that every Put bumps, so
// a run that finishes after a concurrent Put or Delete does not overwrite it.
struct Stored {
  ScheduleState state;
  uint64_t generation = 0;
};

std::string Encode(const Stored& s) {
  store::RecordWriter w(kRecordVersion);
  w.Bytes(s.state.spec.expression).Bytes(s.state.spec.target).Bytes(s.state.spec.payload);
  w.I64(ToMs(s.state.anchor)).U64(s.generation);
  w.Bool(s.state.last_fired.has_value()).I64(s.state.last_fired ? ToMs(*s.state.last_fired) : 0);
  w.Bool(s.state.next_fire.has_value()).I64(s.state.next_fire ? ToMs(*s.state.next_fire) : 0);
  return w.Finish();
}

Result<Stored> Decode(std::string_view name, std::string_view value) {
  store::RecordReader r(value);
  Stored s;
  s.state.spec.name = std::string(name);
  ANNEX_ASSIGN_OR_RETURN(s.state.spec.expression, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.state.spec.target, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.state.spec.payload, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(int64_t anchor, r.I64());
  s.state.anchor = FromMs(anchor);
  ANNEX_ASSIGN_OR_RETURN(s.generation, r.U64());
  ANNEX_ASSIGN_OR_RETURN(bool has_last, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(int64_t last, r.I64());
  if (has_last) s.state.last_fired = FromMs(last);
  ANNEX_ASSIGN_OR_RETURN(bool has_next, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(int64_t next, r.I64());
  if (has_next) s.state.next_fire = FromMs(next);
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return s;
}

Result<std::optional<Stored>> Load(const store::ReadTxn& txn, store::Table table, std::string_view name) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table, name));
  if (!value) return std::optional<Stored>();
  ANNEX_ASSIGN_OR_RETURN(Stored s, Decode(name, *value));
  return std::optional<Stored>(std::move(s));
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Open(const std::string& dir, os::Clock& clock) {
  store::LmdbEnv::Options options;
  options.map_size = size_t{1} << 30;  // schedules are few and small
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir, options));
  ANNEX_ASSIGN_OR_RETURN(store::Table table, env->OpenTable("schedules"));
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(env), table, clock));
}

Scheduler::Scheduler(std::unique_ptr<store::LmdbEnv> env, store::Table table, os::Clock& clock)
    : env_(std::move(env)), table_(table), clock_(clock) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::RegisterTarget(const std::string& target, Handler handler) {
  std::lock_guard lock(handlers_mu_);
  handlers_[target] = std::move(handler);
}

Status Scheduler::Put(const ScheduleSpec& spec) {
  if (!IsValidName(spec.name)) return Invalid("Schedule name must be 1-256 of [A-Za-z0-9._/-]: '" + spec.name + "'");
  ANNEX_ASSIGN_OR_RETURN(ScheduleExpression expression, ScheduleExpression::Parse(spec.expression));
  {
    std::lock_guard lock(handlers_mu_);
    if (!handlers_.contains(spec.target)) return Status::NotFound("no schedule target '" + spec.target + "'");
  }
  TimePoint now = clock_.Now();
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(std::optional<Stored> old, Load(txn, table_, spec.name));
  Stored s;
  s.state.spec = spec;
  s.generation = old ? old->generation + 1 : 1;
  if (old && old->state.spec.expression == spec.expression) {
    s.state.anchor = old->state.anchor;
    s.state.last_fired = old->state.last_fired;
    s.state.next_fire = old->state.next_fire;
  } else {
    s.state.anchor = now;
    s.state.next_fire = expression.NextAfter(now, now);
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(table_, spec.name, Encode(s)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  loop_.Wake();
  return Status::OK();
}

Status Scheduler::Delete(std::string_view name) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(table_, name));
  if (!value) return Status::NotFound("no schedule '" + std::string(name) + "'");
  ANNEX_RETURN_IF_ERROR(txn.Delete(table_, name));
  return txn.Commit();
}

Result<std::optional<ScheduleState>> Scheduler::Get(std::string_view name) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<Stored> s, Load(txn, table_, name));
  if (!s) return std::optional<ScheduleState>();
  return std::optional<ScheduleState>(std::move(s->state));
}

Result<std::vector<ScheduleState>> Scheduler::List(std::string_view prefix) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(table_));
  std::vector<ScheduleState> out;
  ANNEX_RETURN_IF_ERROR(prefix.empty() ? cursor.SeekFirst() : cursor.Seek(prefix));  // LMDB refuses an empty key
  while (cursor.Valid() && cursor.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(Stored s, Decode(cursor.key(), cursor.value()));
    out.push_back(std::move(s.state));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<size_t> Scheduler::RunDue() {
  std::lock_guard run_lock(run_mu_);
  TimePoint now = clock_.Now();
  // Collect first, run after: a handler may Put or Delete schedules.
  std::vector<Stored> due;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(table_));
    ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
    while (cursor.Valid()) {
      ANNEX_ASSIGN_OR_RETURN(Stored s, Decode(cursor.key(), cursor.value()));
      if (s.state.next_fire && *s.state.next_fire <= now) due.push_back(std::move(s));
      ANNEX_RETURN_IF_ERROR(cursor.Next());
    }
  }
  size_t ran = 0;
  for (const Stored& s : due) {
    Status st = Run(s.state, s.generation, now);
    if (!st.ok()) {
      log::Warn("schedule run failed", {{"schedule", s.state.spec.name}, {"error", st.ToString()}});
      continue;
    }
    ++ran;
  }
  return ran;
}

Status Scheduler::Run(const ScheduleState& due, uint64_t generation, TimePoint now) {
  auto expression = ScheduleExpression::Parse(due.spec.expression);
  if (!expression.ok()) return expression.status();  // stored by an older version that accepted it
  // The latest fire time not after now: a gap runs once, for the newest fire it missed.
  Firing firing{due.spec.name, due.spec.payload, *due.next_fire, 0};
  if (auto period = expression->rate_period(); period.count() > 0) {
    firing.skipped = static_cast<uint64_t>((now - firing.scheduled) / period);
    firing.scheduled += period * firing.skipped;
  } else {
    // cron(): at most one step per missed minute, each a few field jumps.
    for (auto t = expression->NextAfter(firing.scheduled, due.anchor); t && *t <= now;
         t = expression->NextAfter(*t, due.anchor)) {
      firing.scheduled = *t;
      ++firing.skipped;
    }
  }
  Handler handler;
  {
    std::lock_guard lock(handlers_mu_);
    auto it = handlers_.find(due.spec.target);
    if (it != handlers_.end()) handler = it->second;
  }
  if (!handler) return Status::NotFound("no schedule target '" + due.spec.target + "' (not registered yet)");
  Status outcome = handler(firing);
  if (!outcome.ok()) {
    // The owner decides about retries; the schedule moves on to its next time.
    log::Warn("scheduled run failed", {{"schedule", due.spec.name}, {"error", outcome.ToString()}});
  }
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(std::optional<Stored> current, Load(txn, table_, due.spec.name));
  if (!current || current->generation != generation) return Status::OK();  // replaced or deleted meanwhile
  current->state.last_fired = firing.scheduled;
  current->state.next_fire = expression->NextAfter(std::max(now, firing.scheduled), due.anchor);
  ANNEX_RETURN_IF_ERROR(txn.Put(table_, due.spec.name, Encode(*current)));
  return txn.Commit();
}

std::optional<TimePoint> Scheduler::EarliestNextFire() const {
  auto all = List();
  if (!all.ok()) return std::nullopt;
  std::optional<TimePoint> earliest;
  for (const auto& s : *all) {
    if (s.next_fire && (!earliest || *s.next_fire < *earliest)) earliest = s.next_fire;
  }
  return earliest;
}

void Scheduler::Start() {
  loop_.Start([this] {
    auto ran = RunDue();
    if (!ran.ok()) log::Warn("scheduler: reading schedules failed", {{"error", ran.status().ToString()}});
    // Until the earliest fire time, but re-read the clock at least every kMaxSleep.
    auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxSleep);
    if (std::optional<TimePoint> next = EarliestNextFire()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_.Now());
      sleep = std::clamp(until, std::chrono::milliseconds(0), sleep);
    }
    return sleep;
  });
}

void Scheduler::Stop() { loop_.Stop(); }

}  // namespace annex::schedule
