#pragma once
// LogJournal: the log store's write-ahead file. An append is acknowledged
// once its records are in the journal — one sequential write and one
// fdatasync, the cost of a plain log file — and copied into LMDB later, many
// appends per transaction (log_store.h). After a crash the store replays the
// records LMDB does not have yet.
//
//   header:  "ANXLOGJ1", generation (8 BE)
//   record:  payload length (4 BE), CRC32C of the payload (4 BE), payload
//
// A record cut short or corrupted by a crash ends the journal: it was never
// acknowledged, and Replay truncates it away. Rotate starts a new generation
// in place once LMDB holds every record, so an LMDB position (generation,
// offset) never points into a different journal's bytes.
//
// Not thread-safe: the store's append thread owns it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::logs {

class LogJournal {
 public:
  static constexpr uint64_t kHeaderBytes = 16;

  // Opens or creates the journal at `path`. A missing or damaged header is
  // replaced by a fresh one of `fresh_generation` (an empty journal).
  static Result<std::unique_ptr<LogJournal>> Open(const std::string& path, uint64_t fresh_generation);
  ~LogJournal();
  LogJournal(const LogJournal&) = delete;
  LogJournal& operator=(const LogJournal&) = delete;

  uint64_t generation() const { return generation_; }
  uint64_t size() const { return size_; }  // bytes, header included

  // Calls `fn` with each intact record from offset `from` (at least the
  // header's end), with the offset just past it; truncates the journal at
  // the first damaged record.
  Status Replay(uint64_t from, const std::function<Status(std::string_view payload, uint64_t end)>& fn);

  // Appends `payloads` as records and flushes them; returns the end offset of
  // each. A failed write leaves the journal as it was; a failed flush makes
  // every later append fail too (the kernel may have dropped the pages).
  Result<std::vector<uint64_t>> Append(const std::vector<std::string>& payloads);

  // Empties the journal under a new generation.
  Status Rotate(uint64_t generation);

 private:
  LogJournal(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status WriteHeader(uint64_t generation);

  std::string path_;
  int fd_ = -1;
  uint64_t generation_ = 0;
  uint64_t size_ = 0;
  Status broken_;  // a failed flush: sticky
};

}  // namespace annex::logs
