#pragma once
// EventLog: the durable half of the event bus, kept inside the LMDB
// environment of the writes that cause the events (the transactional outbox
// pattern). A service publishes in the same write transaction as the change
// the event describes — "object created" commits with the object's record,
// or neither does — so an acknowledged write always has its event, whatever
// happens after the acknowledgement. The bus (event_bus.h) reads the log and
// delivers; each subscriber's progress is stored here too, next to the events.
//
// Tables in the environment: event_log (seq → event), event_cursors
// (subscriber → progress), event_dead (subscriber + seq → event and the last
// error), event_meta (the last sequence number).
//
// Thread-safe (LMDB transactions); Publish runs in the caller's transaction.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/store/lmdb_env.h"

namespace annex::events {

struct Event {
  std::string log;     // the EventLog it came from
  uint64_t seq = 0;    // 1, 2, … per log, in commit order
  std::string source;  // "aws.s3"
  std::string type;    // "Object Created"
  std::string detail;  // the payload (JSON by convention), opaque here
  int64_t time_ms = 0;
  // Unique per event and the same on every redelivery: consumers dedupe by it.
  std::string delivery_id() const { return log + ":" + std::to_string(seq); }
};

// One subscriber's place in one log.
struct SubscriberCursor {
  uint64_t delivered = 0;  // every event with seq <= this was delivered (or dead-lettered)
  uint32_t attempts = 0;   // failed tries of event delivered + 1
  int64_t retry_at_ms = 0; // not before this time
};

struct DeadLetter {
  Event event;
  std::string subscriber;
  uint32_t attempts = 0;
  std::string error;
};

class EventLog {
 public:
  // Opens (creating) the log's tables in `env`; call at startup, before use.
  static Result<std::unique_ptr<EventLog>> Open(std::string name, store::LmdbEnv& env);

  const std::string& name() const { return name_; }

  // Appends an event inside `txn`; it becomes visible when `txn` commits.
  // Returns its sequence number.
  Result<uint64_t> Publish(store::WriteTxn& txn, std::string_view source, std::string_view type,
                           std::string_view detail, int64_t time_ms);

  // Up to `max` events with seq >= `first`, in order.
  Result<std::vector<Event>> ReadFrom(uint64_t first, size_t max) const;
  uint64_t LastSequence() const;

  Result<SubscriberCursor> LoadCursor(std::string_view subscriber) const;
  // Saves `cursor` and, with `dead`, its dead letter, in one transaction;
  // then drops events every one of `all_subscribers` has been given.
  Status SaveCursor(std::string_view subscriber, const SubscriberCursor& cursor, const DeadLetter* dead,
                    const std::vector<std::string>& all_subscribers);

  Result<std::vector<DeadLetter>> DeadLetters() const;

 private:
  EventLog(std::string name, store::LmdbEnv& env, store::Table log, store::Table cursors, store::Table dead,
           store::Table meta)
      : name_(std::move(name)), env_(env), log_(log), cursors_(cursors), dead_(dead), meta_(meta) {}

  std::string name_;
  store::LmdbEnv& env_;
  store::Table log_, cursors_, dead_, meta_;
};

}  // namespace annex::events
