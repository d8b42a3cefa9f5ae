#pragma once
// EventBus: delivers the events of every EventLog to every subscriber, at
// least once, in order per log, with retries and a dead-letter record.
//
// Each (log, subscriber) pair has a cursor stored in the log (event_log.h).
// The bus hands a subscriber the events after its cursor, in sequence order,
// and moves the cursor once the handler returns OK. A failing handler blocks
// only its own pair: the event is retried after a backoff that doubles from
// `initial_backoff` up to `max_backoff`; after `max_attempts` failures it is
// recorded as a dead letter and the cursor moves past it. Progress is saved
// after each batch or `cursor_save_interval`, whichever comes first, and on
// Stop(); a crash redelivers what was delivered since: consumers use
// Event::delivery_id() to ignore what they already applied.
//
// Subscribe every consumer before Start(). Publishers call Notify() after
// committing, so delivery starts at once instead of at the next poll.
//
// Thread-safe. Handlers run on the bus's thread (or DeliverDue's caller),
// one at a time.

#include <chrono>
#include <functional>
#include <map>
#include <utility>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/core/wake_loop.h"
#include "appliance/events/event_log.h"
#include "appliance/os/clock.h"

namespace annex::events {

struct Subscription {
  std::string name;           // unique; names the cursors in every log
  std::string source_prefix;  // only events whose source starts with this ("" : all)
  std::function<Status(const Event&)> deliver;
};

struct EventBusOptions {
  uint32_t max_attempts = 8;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{60'000};
  size_t batch = 256;                        // events per read, and at most per cursor save
  std::chrono::milliseconds cursor_save_interval{200};
  std::chrono::milliseconds poll{250};       // the thread's idle re-check
};

class EventBus {
 public:
  EventBus(os::Clock& clock, EventBusOptions options = {}) : clock_(clock), options_(options) {}
  ~EventBus();

  void AddLog(EventLog* log);
  void Subscribe(Subscription subscription);

  // Delivers everything deliverable now; returns how many events were
  // handed to handlers (successfully or not).
  Result<size_t> DeliverDue();

  void Start();
  // Stops the thread and saves every subscriber's progress.
  void Stop();
  // Saves progress not saved yet (Stop does).
  Status SaveProgress();
  // Something was published: deliver now rather than at the next poll.
  void Notify();

 private:
  Result<size_t> DeliverPair(EventLog& log, const Subscription& sub, const std::vector<std::string>& names);

  os::Clock& clock_;
  EventBusOptions options_;
  std::mutex config_mu_;
  std::vector<EventLog*> logs_;
  std::vector<Subscription> subscriptions_;

  // Each (log, subscriber)'s cursor as delivery moves it, and how far it is saved.
  struct PairState {
    bool loaded = false;
    SubscriberCursor cursor;
    uint64_t saved = 0;
    os::MonoTime saved_at{};
  };

  std::mutex deliver_mu_;  // one DeliverDue at a time; guards pairs_
  std::map<std::pair<EventLog*, std::string>, PairState> pairs_;

  WakeLoop loop_;
};

}  // namespace annex::events
