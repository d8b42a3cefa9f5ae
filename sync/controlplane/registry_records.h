#pragma once
// The registry's on-disk layout, internal to sync/controlplane: its tables
// and keys, how each record is encoded, and the small read and write steps
// Registry's transactions are made of. Only the registry's .cc files use it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/store/lmdb_env.h"
#include "appliance/store/record.h"
#include "sync/controlplane/registry.h"

namespace annex::sync::registry_records {

// Tables and keys. Per-zone keys start with "<zone>\0", so a zone's rows are
// one prefix scan and no zone's rows run into another's ("a\0" < "a-b\0").
//   meta              "region", "command_order"
//   sites             <site>                      -> SiteRecord
//   zones             <zone>                      -> ZoneRecord
//   resources         <zone>\0<type>\0<id>        -> ResourceState
//   events            <zone>\0<event no, BE64>    -> ConnectionEvent
//   commands          <command id>                -> CommandRecord
//   zone_commands     <zone>\0<order, BE64>       -> command id (every command)
//   pending_commands  <zone>\0<order, BE64>       -> command id (until finished)
//   usage             <zone>\0<period end, BE64><seq, BE64> -> UsagePeriod
//   appliance_events  <zone>\0<seq, BE64>         -> ApplianceEvent
//   row_counts        <zone>\0<table>             -> BE64 rows of the zone in usage or appliance_events

constexpr uint8_t kRecordVersion = 1;
constexpr std::string_view kRegionKey = "region";
constexpr std::string_view kCommandOrderKey = "command_order";
// Bounds that keep every key well under LMDB's 511-byte limit.
constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxResourceTypeBytes = 64;
constexpr size_t kMaxResourceIdBytes = 256;
constexpr size_t kMaxCommandIdBytes = 64;
constexpr size_t kMaxServiceNameBytes = 64;
constexpr size_t kMaxGaugesPerService = 64;

constexpr std::string_view kPending = "pending";
constexpr std::string_view kDelivered = "delivered";
constexpr std::string_view kSucceeded = "succeeded";
constexpr std::string_view kFailed = "failed";

struct SiteRecord {
  int64_t created_unix_ms = 0;
  bool enrolled = false;
  std::string token_hash;  // SecretHash of the outstanding token's secret; empty when none is outstanding
  int64_t token_issued_unix_ms = 0;
};

struct ZoneRecord {
  std::string site;
  int64_t enrolled_unix_ms = 0;
  int64_t last_heartbeat_unix_ms = 0;
  int64_t connected_since_unix_ms = 0;
  uint64_t session = 0;  // number of the latest session
  ZoneCapacity capacity;
  std::string agent_version;
  std::string cert_serial;
  uint64_t last_applied_seq = 0;
  uint64_t last_event = 0;  // number of the newest history event
};

struct CommandRecord {
  Command command;
  uint64_t order = 0;  // creation order, for the per-zone indexes
};

// Keys ------------------------------------------------------------------------

std::string ZonePrefix(std::string_view zone);

std::string OrderKey(std::string_view zone, uint64_t n);

std::string ResourceKey(std::string_view zone, std::string_view type, std::string_view id);

// `period_end_unix_ms` is non-negative (checked by the caller), so byte order is time order.
std::string UsageKey(std::string_view zone, int64_t period_end_unix_ms, uint64_t seq);

// The outbox sequence number at the end of a usage or appliance event key.
uint64_t SeqOfKey(std::string_view key);

// Lookups by caller-supplied names: what cannot be a stored key is simply absent.
bool IsLookupable(std::string_view key);

bool IsValidCommandId(std::string_view id);

// Constant time, so response timing says nothing about how close a guessed secret came.
bool HashEquals(std::string_view a, std::string_view b);

Status DeleteIfPresent(store::WriteTxn& txn, store::Table table, std::string_view key);

// Codecs ----------------------------------------------------------------------

Result<store::RecordReader> Reader(std::string_view value, std::string_view what);

std::string EncodeSite(const SiteRecord& s);

Result<SiteRecord> DecodeSite(std::string_view value);

std::string EncodeZone(const ZoneRecord& z);

Result<ZoneRecord> DecodeZone(std::string_view value);

std::string EncodeResource(const ResourceState& r);

// `key` is the resource's whole key, <zone>\0<type>\0<id>.
Result<ResourceState> DecodeResource(std::string_view key, std::string_view value);

std::string EncodeEvent(const ConnectionEvent& e);

Result<ConnectionEvent> DecodeEvent(std::string_view value);

std::string EncodeUsage(const UsagePeriod& u);

Result<UsageCounters> ReadCounters(store::RecordReader& in);

Result<UsagePeriod> DecodeUsage(std::string_view value);

std::string EncodeApplianceEvent(const ApplianceEvent& e);

Result<ApplianceEvent> DecodeApplianceEvent(std::string_view key, std::string_view value);

std::string EncodeCommand(const CommandRecord& r);

Result<CommandRecord> DecodeCommand(std::string_view id, std::string_view value);

// Row access ------------------------------------------------------------------
// Records are decoded into owned values at once: a view from Get is only good
// until the transaction's next write.

Result<std::optional<SiteRecord>> FindSite(const store::ReadTxn& txn, store::Table sites, std::string_view site);

Result<std::optional<ZoneRecord>> FindZone(const store::ReadTxn& txn, store::Table zones, std::string_view zone);

// NotFound for an unknown zone.
Result<ZoneRecord> LoadZone(const store::ReadTxn& txn, store::Table zones, std::string_view zone);

Result<std::optional<CommandRecord>> FindCommand(const store::ReadTxn& txn, store::Table commands,
                                                 std::string_view id);

// Appends to the zone's history, bumping z.last_event (the caller stores `z`)
// and dropping the event that falls out of the window.
Status AddEvent(store::WriteTxn& txn, store::Table events, std::string_view zone, ZoneRecord& z, int64_t unix_ms,
                std::string_view event, std::string_view detail);

// A table whose rows are kept per zone up to a bound: the zone's first rows
// in key order (the oldest) go first.
struct BoundedTable {
  store::Table rows;
  std::string_view name;  // its row_counts key: <zone>\0<name>
  uint64_t max;           // rows kept per zone
};

// Stores a row in the zone's part of `t` and drops the oldest beyond t.max.
// The count lives in `counts`, so trimming never scans.
Status PutBounded(store::WriteTxn& txn, store::Table counts, const BoundedTable& t, std::string_view zone,
                  std::string_view key, std::string_view value);

// Visits the zone's rows of `table` from the newest (last key) backwards
// while `visit` returns true.
using RowVisitor = std::function<Result<bool>(std::string_view key, std::string_view value)>;
Status ScanZoneBackwards(const store::ReadTxn& txn, store::Table table, std::string_view zone,
                         const RowVisitor& visit);

Result<uint64_t> NextCommandOrder(store::WriteTxn& txn, store::Table meta);

ZoneStatus ToStatus(std::string_view zone, const ZoneRecord& z, int64_t now_unix_ms);

}  // namespace annex::sync::registry_records
