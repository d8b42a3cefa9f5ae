#include "appliance/events/event_bus.h"

#include <algorithm>

#include "appliance/core/log.h"

namespace annex::events {
namespace {

int64_t NowMs(os::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

}  // namespace

EventBus::~EventBus() { Stop(); }

void EventBus::AddLog(EventLog* log) {
  std::lock_guard lock(config_mu_);
  logs_.push_back(log);
}

void EventBus::Subscribe(Subscription subscription) {
  std::lock_guard lock(config_mu_);
  subscriptions_.push_back(std::move(subscription));
}

Result<size_t> EventBus::DeliverDue() {
  std::lock_guard deliver_lock(deliver_mu_);
  std::vector<EventLog*> logs;
  std::vector<Subscription> subs;
  {
    std::lock_guard lock(config_mu_);
    logs = logs_;
    subs = subscriptions_;
  }
  std::vector<std::string> names;
  for (const auto& s : subs) names.push_back(s.name);
  size_t handed = 0;
  Status first_error;
  for (EventLog* log : logs) {
    for (const auto& sub : subs) {
      auto n = DeliverPair(*log, sub, names);
      if (n.ok()) {
        handed += *n;
      } else if (first_error.ok()) {
        first_error = n.status();
      }
    }
  }
  if (!first_error.ok()) return first_error;
  return handed;
}

Result<size_t> EventBus::DeliverPair(EventLog& log, const Subscription& sub, const std::vector<std::string>& names) {
  PairState& pair = pairs_[{&log, sub.name}];
  if (!pair.loaded) {
    ANNEX_ASSIGN_OR_RETURN(pair.cursor, log.LoadCursor(sub.name));
    pair.saved = pair.cursor.delivered;
    pair.loaded = true;
  }
  SubscriberCursor& cursor = pair.cursor;
  auto save = [&](const DeadLetter* dead) -> Status {
    ANNEX_RETURN_IF_ERROR(log.SaveCursor(sub.name, cursor, dead, names));
    pair.saved = cursor.delivered;
    pair.saved_at = clock_.MonotonicNow();
    return Status::OK();
  };
  // Progress is saved per batch or after cursor_save_interval, not per
  // event: each save is a durable commit. A crash redelivers what was not.
  auto save_if_due = [&]() -> Status {
    if (cursor.delivered == pair.saved) return Status::OK();
    bool due = cursor.delivered - pair.saved >= options_.batch ||
               clock_.MonotonicNow() - pair.saved_at >= options_.cursor_save_interval;
    return due ? save(nullptr) : Status::OK();
  };
  if (cursor.retry_at_ms > NowMs(clock_)) return size_t{0};  // backing off
  size_t handed = 0;
  while (true) {
    ANNEX_ASSIGN_OR_RETURN(std::vector<Event> batch, log.ReadFrom(cursor.delivered + 1, options_.batch));
    if (batch.empty()) {
      ANNEX_RETURN_IF_ERROR(save_if_due());
      return handed;
    }
    for (const Event& e : batch) {
      if (!sub.source_prefix.empty() && !e.source.starts_with(sub.source_prefix)) {
        cursor.delivered = e.seq;
        continue;
      }
      ++handed;
      Status outcome = sub.deliver(e);
      if (outcome.ok()) {
        cursor.delivered = e.seq;
        cursor.attempts = 0;
        cursor.retry_at_ms = 0;
        continue;
      }
      // Failed: keep the place, back off, or give up on this one event.
      ++cursor.attempts;
      if (cursor.attempts >= options_.max_attempts) {
        log::Warn("event dead-lettered", {{"subscriber", sub.name},
                                          {"delivery_id", e.delivery_id()},
                                          {"attempts", std::to_string(cursor.attempts)},
                                          {"error", outcome.ToString()}});
        DeadLetter dead{e, sub.name, cursor.attempts, outcome.ToString()};
        cursor.delivered = e.seq;
        cursor.attempts = 0;
        cursor.retry_at_ms = 0;
        ANNEX_RETURN_IF_ERROR(save(&dead));
        continue;
      }
      auto backoff = options_.initial_backoff * (int64_t{1} << std::min<uint32_t>(cursor.attempts - 1, 20));
      cursor.retry_at_ms = NowMs(clock_) + std::min(backoff, options_.max_backoff).count();
      ANNEX_RETURN_IF_ERROR(save(nullptr));  // the attempt count outlives a restart
      return handed;
    }
    ANNEX_RETURN_IF_ERROR(save_if_due());
  }
}

Status EventBus::SaveProgress() {
  std::lock_guard deliver_lock(deliver_mu_);
  std::vector<std::string> names;
  {
    std::lock_guard lock(config_mu_);
    for (const auto& s : subscriptions_) names.push_back(s.name);
  }
  Status first;
  for (auto& [key, pair] : pairs_) {
    if (!pair.loaded || pair.cursor.delivered == pair.saved) continue;
    Status s = key.first->SaveCursor(key.second, pair.cursor, nullptr, names);
    if (s.ok()) pair.saved = pair.cursor.delivered;
    else if (first.ok()) first = s;
  }
  return first;
}

void EventBus::Start() {
  loop_.Start([this] {
    auto handed = DeliverDue();
    if (!handed.ok()) log::Warn("event delivery failed", {{"error", handed.status().ToString()}});
    return options_.poll;
  });
}

void EventBus::Stop() {
  loop_.Stop();
  Status saved = SaveProgress();
  if (!saved.ok()) log::Warn("event bus: saving delivery progress failed", {{"error", saved.ToString()}});
}

void EventBus::Notify() { loop_.Wake(); }

}  // namespace annex::events
