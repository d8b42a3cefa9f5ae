#pragma once
// The agent's durable outbox. Every record the appliance owes the control
// plane (resource changes, usage, events) is appended here, in its own LMDB
// environment, under the next sequence number; Append returns only once the
// record is on disk. Records stay until the control plane acknowledges them
// (acknowledgements are cumulative: "everything up to N") and are sent again,
// in order, from the first unacknowledged one after every reconnect or
// restart. Sequence numbers are never reused, so the receiver applies each
// record exactly once by remembering the last number it applied.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/store/lmdb_env.h"

namespace annex::sync {

struct OutboxRecord {
  uint64_t seq = 0;
  std::string kind;     // e.g. "resource", "usage", "event"
  std::string payload;  // opaque to the outbox
  int64_t created_unix_ms = 0;
};

// Thread-safe.
class Outbox {
 public:
  // Opens (creating) the outbox stored in directory `dir`.
  static Result<std::unique_ptr<Outbox>> Open(const std::string& dir);

  // Durable when OK; returns the record's sequence number (1, 2, ...).
  Result<uint64_t> Append(std::string_view kind, std::string_view payload, int64_t now_unix_ms);
  // Appends records of one kind and sets a named position in one commit, so
  // a reader of some feed (a service's resource changes) never records a
  // change twice or skips one, whenever it crashes. Returns the last seq.
  Result<uint64_t> AppendAt(std::string_view kind, const std::vector<std::string>& payloads, int64_t now_unix_ms,
                            std::string_view position, uint64_t value);
  // A named position (0 until set); Reset forgets every position.
  Result<uint64_t> Position(std::string_view name) const;
  Status SetPosition(std::string_view name, uint64_t value);
  // Drops every record with seq <= `seq`. Acknowledging what was already
  // acknowledged is a no-op; acknowledging a sequence number never handed out
  // is InvalidArgument (a confused or forged peer), and changes nothing.
  Status Acknowledge(uint64_t seq);
  // Up to `max` unacknowledged records with seq >= `first`, in order.
  Result<std::vector<OutboxRecord>> ReadFrom(uint64_t first, size_t max) const;
  // Drops every record and position and numbers from 1 again. Only for a new
  // receiver that has applied nothing (the appliance joined another zone):
  // anyone else would take the new numbers for records it already applied.
  Status Reset();

  uint64_t last_sequence() const;      // highest number handed out (0: none yet)
  uint64_t last_acknowledged() const;  // highest number acknowledged (0: none)
  uint64_t depth() const { return last_sequence() - last_acknowledged(); }

 private:
  Outbox(std::unique_ptr<store::LmdbEnv> env, store::Table records, store::Table meta, store::Table positions);
  Status LoadCounters();

  std::unique_ptr<store::LmdbEnv> env_;
  store::Table records_, meta_, positions_;
  std::mutex write_mu_;  // Append and Acknowledge: counters and their LMDB copies move together
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> last_ack_{0};
};

}  // namespace annex::sync
