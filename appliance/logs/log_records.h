#pragma once
// The log store's LMDB tables, keys and record formats (private to
// appliance/logs).
//
//   groups   account \0 name-key            → GroupRecord
//   streams  group id (8 BE) name-key       → StreamRecord
//   events   stream id, timestamp, seq (8 BE each) → a chunk of events (log_chunk.h)
//   doomed   stream id (8 BE)               → (empty) events still to delete
//   meta     "next_id", "total_bytes", "journal_generation", "journal_offset" → U64
//
// A name-key is the name itself, or, for names over 400 bytes (LMDB keys
// stop at 511), its first 400 bytes and a SHA-256 of the whole; the record
// holds the full name. Timestamps are stored offset by 2^63 so negative
// values (refused by the API, possible from platform callers) still sort.

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/logs/log_types.h"
#include "appliance/store/lmdb_env.h"

namespace annex::logs {

struct LogTables {
  store::Table groups, streams, events, doomed, meta;
};

struct GroupRecord {
  uint64_t id = 0;
  std::string name;
  int64_t creation_ms = 0;
  int retention_days = 0;  // 0: none
  uint64_t stored_bytes = 0;
  Tags tags;
};

struct StreamRecord {
  uint64_t id = 0;
  std::string name;
  int64_t creation_ms = 0;
  bool has_events = false;   // first_ms is meaningful
  int64_t first_ms = 0;      // oldest event still stored
  bool ever_appended = false;
  int64_t last_ms = 0;       // latest event timestamp appended
  int64_t last_ingestion_ms = 0;
  uint64_t stored_bytes = 0;
  uint64_t next_seq = 0;
  int64_t max_span_ms = 0;  // widest chunk: last minus first timestamp
};

std::string NameKey(std::string_view name);
std::string GroupKey(std::string_view account, std::string_view group);
std::string GroupKeyPrefix(std::string_view account);
std::string StreamKey(uint64_t group_id, std::string_view stream);
std::string StreamKeyPrefix(uint64_t group_id);
std::string EventKey(uint64_t stream_id, int64_t timestamp_ms, uint64_t seq);
std::string EventKeyPrefix(uint64_t stream_id);

struct EventKeyParts {
  uint64_t stream_id = 0;
  int64_t timestamp_ms = 0;
  uint64_t seq = 0;
};
Result<EventKeyParts> ParseEventKey(std::string_view key);

std::string EncodeGroup(const GroupRecord& r);
Result<GroupRecord> DecodeGroup(std::string_view data);
std::string EncodeStream(const StreamRecord& r);
Result<StreamRecord> DecodeStream(std::string_view data);

LogGroupInfo ToInfo(const GroupRecord& r);
LogStreamInfo ToInfo(const StreamRecord& r);

// Group and stream records by name (counters in the meta table: store/counter.h).
Result<std::optional<GroupRecord>> LoadGroup(const store::ReadTxn& txn, const LogTables& t, std::string_view account,
                                             std::string_view group);
Result<std::optional<StreamRecord>> LoadStream(const store::ReadTxn& txn, const LogTables& t, uint64_t group_id,
                                               std::string_view stream);

// NotFound with the Logs API's wording.
Status GroupNotFound(std::string_view group);
Status StreamNotFound(std::string_view stream);

// New records under fresh ids (the meta table's next_id).
Result<GroupRecord> NewGroup(store::WriteTxn& txn, const LogTables& t, const std::string& account,
                             const std::string& group, int64_t now_ms, const Tags& tags);
Result<StreamRecord> NewStream(store::WriteTxn& txn, const LogTables& t, uint64_t group_id, const std::string& stream,
                               int64_t now_ms);

inline constexpr std::string_view kNextId = "next_id";
inline constexpr std::string_view kTotalBytes = "total_bytes";
// How far LMDB holds the journal (log_journal.h): its generation and the
// offset past the last append committed.
inline constexpr std::string_view kJournalGeneration = "journal_generation";
inline constexpr std::string_view kJournalOffset = "journal_offset";

}  // namespace annex::logs
