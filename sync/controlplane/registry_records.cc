#include "sync/controlplane/registry_records.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <utility>

#include "appliance/os/random.h"
#include "appliance/store/record.h"

namespace annex::sync::registry_records {

std::string ZonePrefix(std::string_view zone) {
  std::string k(zone);
  k.push_back('\0');
  return k;
}

std::string OrderKey(std::string_view zone, uint64_t n) {
  std::string k = ZonePrefix(zone);
  store::AppendBigEndian64(k, n);
  return k;
}

std::string ResourceKey(std::string_view zone, std::string_view type, std::string_view id) {
  std::string k = ZonePrefix(zone);
  k.append(type).push_back('\0');
  k.append(id);
  return k;
}

std::string UsageKey(std::string_view zone, int64_t period_end_unix_ms, uint64_t seq) {
  std::string k = OrderKey(zone, static_cast<uint64_t>(period_end_unix_ms));
  store::AppendBigEndian64(k, seq);
  return k;
}

uint64_t SeqOfKey(std::string_view key) { return store::ReadBigEndian64(key.substr(key.size() - 8)); }

bool IsLookupable(std::string_view key) { return !key.empty() && key.size() <= kMaxNameBytes; }

bool IsValidCommandId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCommandIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool HashEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Status DeleteIfPresent(store::WriteTxn& txn, store::Table table, std::string_view key) {
  Status s = txn.Delete(table, key);
  return s.IsNotFound() ? Status::OK() : s;
}

Result<store::RecordReader> Reader(std::string_view value, std::string_view what) {
  store::RecordReader in(value);
  if (in.version() != kRecordVersion) return Status::Corruption(std::string(what) + " record of an unknown version");
  return in;
}

std::string EncodeSite(const SiteRecord& s) {
  return store::RecordWriter(kRecordVersion)
      .I64(s.created_unix_ms)
      .Bool(s.enrolled)
      .Bytes(s.token_hash)
      .I64(s.token_issued_unix_ms)
      .Finish();
}

Result<SiteRecord> DecodeSite(std::string_view value) {
  SiteRecord s;
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "site"));
  ANNEX_ASSIGN_OR_RETURN(s.created_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(s.enrolled, in.Bool());
  ANNEX_ASSIGN_OR_RETURN(s.token_hash, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.token_issued_unix_ms, in.I64());
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return s;
}

std::string EncodeZone(const ZoneRecord& z) {
  store::RecordWriter w(kRecordVersion);
  w.Bytes(z.site).I64(z.enrolled_unix_ms).I64(z.last_heartbeat_unix_ms).I64(z.connected_since_unix_ms).U64(z.session);
  const ZoneCapacity& c = z.capacity;
  w.U64(c.cpus).U64(c.memory_bytes).U64(c.disk_bytes).U64(c.disk_free_bytes).U64(c.services.size());
  for (const std::string& service : c.services) w.Bytes(service);
  w.Bytes(z.agent_version).Bytes(z.cert_serial).U64(z.last_applied_seq).U64(z.last_event);
  // Added later: records written before end here, and read as advertising no commands.
  w.U64(c.commands.size());
  for (const CommandSpec& command : c.commands) w.Bytes(command.kind).Bytes(command.service).Bytes(command.args_schema_json);
  return w.Finish();
}

Result<ZoneRecord> DecodeZone(std::string_view value) {
  ZoneRecord z;
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "zone"));
  ANNEX_ASSIGN_OR_RETURN(z.site, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(z.enrolled_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(z.last_heartbeat_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(z.connected_since_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(z.session, in.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t cpus, in.U64());
  if (cpus > std::numeric_limits<uint32_t>::max()) return Status::Corruption("zone record: cpu count out of range");
  z.capacity.cpus = static_cast<uint32_t>(cpus);
  ANNEX_ASSIGN_OR_RETURN(z.capacity.memory_bytes, in.U64());
  ANNEX_ASSIGN_OR_RETURN(z.capacity.disk_bytes, in.U64());
  ANNEX_ASSIGN_OR_RETURN(z.capacity.disk_free_bytes, in.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t services, in.U64());
  if (services > value.size()) return Status::Corruption("zone record: service count out of range");
  for (uint64_t i = 0; i < services; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string service, in.Bytes());
    z.capacity.services.push_back(std::move(service));
  }
  ANNEX_ASSIGN_OR_RETURN(z.agent_version, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(z.cert_serial, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(z.last_applied_seq, in.U64());
  ANNEX_ASSIGN_OR_RETURN(z.last_event, in.U64());
  if (!in.AtEnd()) {
    ANNEX_ASSIGN_OR_RETURN(uint64_t commands, in.U64());
    if (commands > value.size()) return Status::Corruption("zone record: command count out of range");
    for (uint64_t i = 0; i < commands; ++i) {
      CommandSpec command;
      ANNEX_ASSIGN_OR_RETURN(command.kind, in.Bytes());
      ANNEX_ASSIGN_OR_RETURN(command.service, in.Bytes());
      ANNEX_ASSIGN_OR_RETURN(command.args_schema_json, in.Bytes());
      z.capacity.commands.push_back(std::move(command));
    }
  }
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return z;
}

std::string EncodeResource(const ResourceState& r) {
  return store::RecordWriter(kRecordVersion)
      .Bytes(r.state_json)
      .U64(r.version)
      .I64(r.updated_unix_ms)
      .Bool(r.deleted)
      .Finish();
}

Result<ResourceState> DecodeResource(std::string_view key, std::string_view value) {
  size_t first = key.find('\0');
  size_t second = first == std::string_view::npos ? first : key.find('\0', first + 1);
  if (second == std::string_view::npos) return Status::Corruption("resource key is malformed");
  ResourceState r;
  r.type = std::string(key.substr(first + 1, second - first - 1));
  r.id = std::string(key.substr(second + 1));
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "resource"));
  ANNEX_ASSIGN_OR_RETURN(r.state_json, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(r.version, in.U64());
  ANNEX_ASSIGN_OR_RETURN(r.updated_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(r.deleted, in.Bool());
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return r;
}

std::string EncodeEvent(const ConnectionEvent& e) {
  return store::RecordWriter(kRecordVersion).I64(e.unix_ms).Bytes(e.event).Bytes(e.detail).Finish();
}

Result<ConnectionEvent> DecodeEvent(std::string_view value) {
  ConnectionEvent e;
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "event"));
  ANNEX_ASSIGN_OR_RETURN(e.unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(e.event, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(e.detail, in.Bytes());
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return e;
}

std::string EncodeUsage(const UsagePeriod& u) {
  store::RecordWriter out(kRecordVersion);
  out.I64(u.start_unix_ms).I64(u.end_unix_ms);
  out.U64(u.total.requests).U64(u.total.bytes_in).U64(u.total.bytes_out);
  out.U64(u.bytes_stored).U64(u.objects_stored);
  out.U64(u.by_service.size());
  for (const auto& [service, c] : u.by_service) out.Bytes(service).U64(c.requests).U64(c.bytes_in).U64(c.bytes_out);
  // Added later: records written before end here, and read as having no gauges.
  uint64_t gauges = 0;
  for (const auto& [service, named] : u.gauges) gauges += named.size();
  out.U64(gauges);
  for (const auto& [service, named] : u.gauges) {
    for (const auto& [name, value] : named) out.Bytes(service).Bytes(name).U64(value);
  }
  return out.Finish();
}

Result<UsageCounters> ReadCounters(store::RecordReader& in) {
  UsageCounters c;
  ANNEX_ASSIGN_OR_RETURN(c.requests, in.U64());
  ANNEX_ASSIGN_OR_RETURN(c.bytes_in, in.U64());
  ANNEX_ASSIGN_OR_RETURN(c.bytes_out, in.U64());
  return c;
}

Result<UsagePeriod> DecodeUsage(std::string_view value) {
  UsagePeriod u;
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "usage"));
  ANNEX_ASSIGN_OR_RETURN(u.start_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(u.end_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(u.total, ReadCounters(in));
  ANNEX_ASSIGN_OR_RETURN(u.bytes_stored, in.U64());
  ANNEX_ASSIGN_OR_RETURN(u.objects_stored, in.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t services, in.U64());
  if (services > value.size()) return Status::Corruption("usage record: service count out of range");
  for (uint64_t i = 0; i < services; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string service, in.Bytes());
    ANNEX_ASSIGN_OR_RETURN(u.by_service[service], ReadCounters(in));
  }
  if (!in.AtEnd()) {
    ANNEX_ASSIGN_OR_RETURN(uint64_t gauges, in.U64());
    if (gauges > value.size()) return Status::Corruption("usage record: gauge count out of range");
    for (uint64_t i = 0; i < gauges; ++i) {
      ANNEX_ASSIGN_OR_RETURN(std::string service, in.Bytes());
      ANNEX_ASSIGN_OR_RETURN(std::string name, in.Bytes());
      ANNEX_ASSIGN_OR_RETURN(u.gauges[service][name], in.U64());
    }
  }
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return u;
}

std::string EncodeApplianceEvent(const ApplianceEvent& e) {
  return store::RecordWriter(kRecordVersion).I64(e.unix_ms).Bytes(e.severity).Bytes(e.kind).Bytes(e.message).Finish();
}

Result<ApplianceEvent> DecodeApplianceEvent(std::string_view key, std::string_view value) {
  ApplianceEvent e;
  e.seq = SeqOfKey(key);
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "appliance event"));
  ANNEX_ASSIGN_OR_RETURN(e.unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(e.severity, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(e.kind, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(e.message, in.Bytes());
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return e;
}

std::string EncodeCommand(const CommandRecord& r) {
  const Command& c = r.command;
  return store::RecordWriter(kRecordVersion)
      .Bytes(c.zone)
      .Bytes(c.kind)
      .Bytes(c.args_json)
      .Bytes(c.state)
      .Bytes(c.result)
      .I64(c.created_unix_ms)
      .I64(c.updated_unix_ms)
      .U64(r.order)
      .Finish();
}

Result<CommandRecord> DecodeCommand(std::string_view id, std::string_view value) {
  CommandRecord r;
  Command& c = r.command;
  c.id = std::string(id);
  ANNEX_ASSIGN_OR_RETURN(store::RecordReader in, Reader(value, "command"));
  ANNEX_ASSIGN_OR_RETURN(c.zone, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.kind, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.args_json, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.state, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.result, in.Bytes());
  ANNEX_ASSIGN_OR_RETURN(c.created_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(c.updated_unix_ms, in.I64());
  ANNEX_ASSIGN_OR_RETURN(r.order, in.U64());
  ANNEX_RETURN_IF_ERROR(in.Finish());
  return r;
}

Result<std::optional<SiteRecord>> FindSite(const store::ReadTxn& txn, store::Table sites, std::string_view site) {
  if (!IsLookupable(site)) return std::optional<SiteRecord>();
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(sites, site));
  if (!value) return std::optional<SiteRecord>();
  ANNEX_ASSIGN_OR_RETURN(SiteRecord s, DecodeSite(*value));
  return std::optional<SiteRecord>(std::move(s));
}

Result<std::optional<ZoneRecord>> FindZone(const store::ReadTxn& txn, store::Table zones, std::string_view zone) {
  if (!IsLookupable(zone)) return std::optional<ZoneRecord>();
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(zones, zone));
  if (!value) return std::optional<ZoneRecord>();
  ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, DecodeZone(*value));
  return std::optional<ZoneRecord>(std::move(z));
}

Result<ZoneRecord> LoadZone(const store::ReadTxn& txn, store::Table zones, std::string_view zone) {
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, zones, zone));
  if (!z) return Status::NotFound("no zone " + std::string(zone));
  return std::move(*z);
}

Result<std::optional<CommandRecord>> FindCommand(const store::ReadTxn& txn, store::Table commands,
                                                 std::string_view id) {
  if (!IsLookupable(id)) return std::optional<CommandRecord>();
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(commands, id));
  if (!value) return std::optional<CommandRecord>();
  ANNEX_ASSIGN_OR_RETURN(CommandRecord r, DecodeCommand(id, *value));
  return std::optional<CommandRecord>(std::move(r));
}

Status AddEvent(store::WriteTxn& txn, store::Table events, std::string_view zone, ZoneRecord& z, int64_t unix_ms,
                std::string_view event, std::string_view detail) {
  uint64_t n = ++z.last_event;
  ANNEX_RETURN_IF_ERROR(
      txn.Put(events, OrderKey(zone, n), EncodeEvent({unix_ms, std::string(event), std::string(detail)})));
  if (n > Registry::kMaxHistory)
    ANNEX_RETURN_IF_ERROR(DeleteIfPresent(txn, events, OrderKey(zone, n - Registry::kMaxHistory)));
  return Status::OK();
}

Status PutBounded(store::WriteTxn& txn, store::Table counts, const BoundedTable& t, std::string_view zone,
                  std::string_view key, std::string_view value) {
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(t.rows, key));
  bool added = !existing;
  ANNEX_RETURN_IF_ERROR(txn.Put(t.rows, key, value));
  if (!added) return Status::OK();
  std::string prefix = ZonePrefix(zone);
  std::string count_key = prefix + std::string(t.name);
  ANNEX_ASSIGN_OR_RETURN(auto stored, txn.Get(counts, count_key));
  uint64_t rows = 1;
  if (stored) {
    if (stored->size() != 8) return Status::Corruption("registry row count is damaged");
    rows += store::ReadBigEndian64(*stored);
  }
  for (; rows > t.max; --rows) {
    std::string oldest;
    {
      ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(t.rows));
      ANNEX_RETURN_IF_ERROR(cursor.Seek(prefix));
      if (!cursor.Valid() || !cursor.key().starts_with(prefix)) {
        return Status::Corruption("registry row count of " + std::string(t.name) + " exceeds its rows");
      }
      oldest = std::string(cursor.key());
    }
    ANNEX_RETURN_IF_ERROR(txn.Delete(t.rows, oldest));
  }
  std::string encoded;
  store::AppendBigEndian64(encoded, rows);
  return txn.Put(counts, count_key, encoded);
}
Status ScanZoneBackwards(const store::ReadTxn& txn, store::Table table, std::string_view zone,
                         const RowVisitor& visit) {
  std::string prefix = ZonePrefix(zone);
  std::string end(zone);
  end.push_back('\1');  // just past every "<zone>\0..." key
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(table));
  ANNEX_RETURN_IF_ERROR(cursor.SeekBefore(end));
  while (cursor.Valid() && cursor.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(bool more, visit(cursor.key(), cursor.value()));
    if (!more) break;
    ANNEX_RETURN_IF_ERROR(cursor.Prev());
  }
  return Status::OK();
}

Result<uint64_t> NextCommandOrder(store::WriteTxn& txn, store::Table meta) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(meta, kCommandOrderKey));
  uint64_t last = 0;
  if (value) {
    if (value->size() != 8) return Status::Corruption("registry command counter is damaged");
    last = store::ReadBigEndian64(*value);
  }
  std::string next;
  store::AppendBigEndian64(next, last + 1);
  ANNEX_RETURN_IF_ERROR(txn.Put(meta, kCommandOrderKey, next));
  return last + 1;
}

ZoneStatus ToStatus(std::string_view zone, const ZoneRecord& z, int64_t now_unix_ms) {
  ZoneStatus s;
  s.zone = std::string(zone);
  s.site = z.site;
  s.enrolled_unix_ms = z.enrolled_unix_ms;
  s.last_heartbeat_unix_ms = z.last_heartbeat_unix_ms;
  s.connected_since_unix_ms = z.connected_since_unix_ms;
  s.capacity = z.capacity;
  s.agent_version = z.agent_version;
  s.cert_serial = z.cert_serial;
  s.last_applied_seq = z.last_applied_seq;
  // A heartbeat "from the future" (clock skew between callers) counts as just now.
  int64_t silence = std::max<int64_t>(0, now_unix_ms - z.last_heartbeat_unix_ms);
  s.state = StateAfterSilence(std::chrono::milliseconds(silence), z.last_heartbeat_unix_ms != 0);
  return s;
}

}  // namespace annex::sync::registry_records
