#include "sync/controlplane/registry.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "appliance/os/random.h"
#include "appliance/store/record.h"

namespace annex::sync {
namespace {

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

constexpr uint8_t kRecordVersion = 1;
constexpr std::string_view kRegionKey = "region";
constexpr std::string_view kCommandOrderKey = "command_order";
// Bounds that keep every key well under LMDB's 511-byte limit.
constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxResourceTypeBytes = 64;
constexpr size_t kMaxResourceIdBytes = 256;
constexpr size_t kMaxCommandIdBytes = 64;

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

// Lookups by caller-supplied names: what cannot be a stored key is simply absent.
bool IsLookupable(std::string_view key) { return !key.empty() && key.size() <= kMaxNameBytes; }

bool IsValidCommandId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCommandIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

// Constant time, so response timing says nothing about how close a guessed secret came.
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

// Codecs ----------------------------------------------------------------------

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

// `key` is the resource's whole key, <zone>\0<type>\0<id>.
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

// Row access ------------------------------------------------------------------
// Records are decoded into owned values at once: a view from Get is only good
// until the transaction's next write.

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

// NotFound for an unknown zone.
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

// Appends to the zone's history, bumping z.last_event (the caller stores `z`)
// and dropping the event that falls out of the window.
Status AddEvent(store::WriteTxn& txn, store::Table events, std::string_view zone, ZoneRecord& z, int64_t unix_ms,
                std::string_view event, std::string_view detail) {
  uint64_t n = ++z.last_event;
  ANNEX_RETURN_IF_ERROR(
      txn.Put(events, OrderKey(zone, n), EncodeEvent({unix_ms, std::string(event), std::string(detail)})));
  if (n > Registry::kMaxHistory)
    ANNEX_RETURN_IF_ERROR(DeleteIfPresent(txn, events, OrderKey(zone, n - Registry::kMaxHistory)));
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

}  // namespace

// Opening ---------------------------------------------------------------------

Registry::Registry(std::unique_ptr<store::LmdbEnv> env, const Tables& tables, std::string region)
    : env_(std::move(env)),
      committer_(std::make_unique<store::GroupCommitter>(*env_)),
      t_(tables),
      region_(std::move(region)) {}

Registry::~Registry() = default;

Status Registry::Write(const store::GroupCommitter::Operation& op) { return committer_->Run(op); }

void Registry::NotifyCommands() {
  {
    std::lock_guard lock(commands_mu_);
    ++commands_generation_;
  }
  commands_cv_.notify_all();
}

uint64_t Registry::WaitForCommands(uint64_t seen_generation, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(commands_mu_);
  commands_cv_.wait_for(lock, timeout, [&] { return commands_generation_ != seen_generation; });
  return commands_generation_;
}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& dir, std::string region) {
  // Region names follow the site rules ([a-z0-9-]), which keeps zone names NUL-free for the key layout.
  if (!IsValidSiteName(region)) return Status::InvalidArgument("registry: region name '" + region + "' is not valid");
  store::LmdbEnv::Options options;
  options.defer_meta_sync = true;  // the GroupCommitter flushes once per batch
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir, options));
  Tables t;
  ANNEX_ASSIGN_OR_RETURN(t.meta, env->OpenTable("meta"));
  ANNEX_ASSIGN_OR_RETURN(t.sites, env->OpenTable("sites"));
  ANNEX_ASSIGN_OR_RETURN(t.zones, env->OpenTable("zones"));
  ANNEX_ASSIGN_OR_RETURN(t.resources, env->OpenTable("resources"));
  ANNEX_ASSIGN_OR_RETURN(t.events, env->OpenTable("events"));
  ANNEX_ASSIGN_OR_RETURN(t.commands, env->OpenTable("commands"));
  ANNEX_ASSIGN_OR_RETURN(t.zone_commands, env->OpenTable("zone_commands"));
  ANNEX_ASSIGN_OR_RETURN(t.pending_commands, env->OpenTable("pending_commands"));
  {
    ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env->BeginWrite());
    ANNEX_ASSIGN_OR_RETURN(auto stored, txn.Get(t.meta, kRegionKey));
    if (stored && *stored != region) {
      return Status::FailedPrecondition("registry in " + dir + " belongs to region " + std::string(*stored) + ", not " +
                                        region);
    }
    if (!stored) {
      ANNEX_RETURN_IF_ERROR(txn.Put(t.meta, kRegionKey, region));
      ANNEX_RETURN_IF_ERROR(txn.Commit());
    }
  }
  return std::unique_ptr<Registry>(new Registry(std::move(env), t, std::move(region)));
}

// Sites and tokens ------------------------------------------------------------

Result<EnrollmentToken> Registry::CreateSite(std::string_view site, std::string_view ca_sha256, int64_t now_unix_ms,
                                             bool replace_token) {
  ANNEX_ASSIGN_OR_RETURN(EnrollmentToken token, NewEnrollmentToken(site, ca_sha256));  // validates both
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(std::optional<SiteRecord> existing, FindSite(txn, t_.sites, site));
  SiteRecord s;
  if (existing) {
    if (existing->enrolled || !replace_token) return Status::AlreadyExists("site " + std::string(site) + " exists");
    s = std::move(*existing);
  } else {
    s.created_unix_ms = now_unix_ms;
  }
  s.token_hash = SecretHash(token.secret);
  s.token_issued_unix_ms = now_unix_ms;
  ANNEX_RETURN_IF_ERROR(txn.Put(t_.sites, site, EncodeSite(s)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return token;
}

Result<std::string> Registry::ConsumeToken(const EnrollmentToken& token, std::string_view cert_serial,
                                           int64_t now_unix_ms) {
  if (cert_serial.empty()) return Status::InvalidArgument("enrollment needs the certificate's serial");
  const Status refused = Status::PermissionDenied("enrollment token refused");  // the same answer for every cause
  std::string zone = ZoneName(region_, token.site);
  bool accepted = false;
  ANNEX_RETURN_IF_ERROR(Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, FindSite(txn, t_.sites, token.site));
    if (!site) return Status::OK();
    ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));

    std::string_view why;
    if (site->token_hash.empty()) {
      why = "no outstanding token (already used)";
    } else if (!HashEquals(SecretHash(token.secret), site->token_hash)) {
      why = "wrong secret";
    }
    if (!why.empty()) {
      // An enrolled site's zone keeps a trace of the attempt, for the operator.
      if (!z) return Status::OK();
      ANNEX_RETURN_IF_ERROR(AddEvent(txn, t_.events, zone, *z, now_unix_ms, "rejected", why));
      return txn.Put(t_.zones, zone, EncodeZone(*z));
    }

    bool again = z.has_value();
    if (!z) z.emplace().site = token.site;
    site->enrolled = true;
    site->token_hash.clear();  // one use only
    z->enrolled_unix_ms = now_unix_ms;
    z->cert_serial = std::string(cert_serial);
    std::string detail = std::string(again ? "re-enrolled" : "enrolled") + ", certificate " + std::string(cert_serial);
    ANNEX_RETURN_IF_ERROR(AddEvent(txn, t_.events, zone, *z, now_unix_ms, "enrolled", detail));
    ANNEX_RETURN_IF_ERROR(txn.Put(t_.sites, token.site, EncodeSite(*site)));
    accepted = true;
    return txn.Put(t_.zones, zone, EncodeZone(*z));
  }));
  if (!accepted) return refused;
  return zone;
}

Result<EnrollmentToken> Registry::ReissueToken(std::string_view site, std::string_view ca_sha256, int64_t now_unix_ms) {
  ANNEX_ASSIGN_OR_RETURN(EnrollmentToken token, NewEnrollmentToken(site, ca_sha256));
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(std::optional<SiteRecord> s, FindSite(txn, t_.sites, site));
  if (!s) return Status::NotFound("no site " + std::string(site));
  if (!s->enrolled) {
    return Status::FailedPrecondition("site " + std::string(site) + " has not enrolled yet; replace its token instead");
  }
  std::string zone = ZoneName(region_, site);
  ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, LoadZone(txn, t_.zones, zone));
  s->token_hash = SecretHash(token.secret);
  s->token_issued_unix_ms = now_unix_ms;
  ANNEX_RETURN_IF_ERROR(AddEvent(txn, t_.events, zone, z, now_unix_ms, "token-reissued", ""));
  ANNEX_RETURN_IF_ERROR(txn.Put(t_.sites, site, EncodeSite(*s)));
  ANNEX_RETURN_IF_ERROR(txn.Put(t_.zones, zone, EncodeZone(z)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return token;
}

Status Registry::SetCertSerial(std::string_view zone, std::string_view serial, int64_t now_unix_ms) {
  if (serial.empty()) return Status::InvalidArgument("empty certificate serial");
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, LoadZone(txn, t_.zones, zone));
    z.cert_serial = std::string(serial);
    ANNEX_RETURN_IF_ERROR(
        AddEvent(txn, t_.events, zone, z, now_unix_ms, "cert-rotated", "certificate " + z.cert_serial));
    return txn.Put(t_.zones, zone, EncodeZone(z));
  });
}

// Sessions and heartbeats -----------------------------------------------------

Result<uint64_t> Registry::MarkConnected(std::string_view zone, std::string_view agent_version, int64_t now_unix_ms) {
  uint64_t session = 0;
  ANNEX_RETURN_IF_ERROR(Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, LoadZone(txn, t_.zones, zone));
    std::string detail = "session " + std::to_string(z.session + 1) + ", agent " + std::string(agent_version);
    if (z.connected_since_unix_ms != 0) detail += ", replacing session " + std::to_string(z.session);
    z.session++;
    z.connected_since_unix_ms = now_unix_ms;
    z.agent_version = std::string(agent_version);
    ANNEX_RETURN_IF_ERROR(AddEvent(txn, t_.events, zone, z, now_unix_ms, "connected", detail));
    session = z.session;
    return txn.Put(t_.zones, zone, EncodeZone(z));
  }));
  return session;
}

Status Registry::MarkDisconnected(std::string_view zone, std::string_view why, int64_t now_unix_ms, uint64_t session) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, LoadZone(txn, t_.zones, zone));
    bool current = session == 0 || session == z.session;
    std::string detail = "session " + std::to_string(current ? z.session : session);
    if (!current) detail += " (superseded)";
    if (!why.empty()) detail += ": " + std::string(why);
    if (current) z.connected_since_unix_ms = 0;
    ANNEX_RETURN_IF_ERROR(AddEvent(txn, t_.events, zone, z, now_unix_ms, "disconnected", detail));
    return txn.Put(t_.zones, zone, EncodeZone(z));
  });
}

Status Registry::RecordHeartbeat(std::string_view zone, const ZoneCapacity& capacity, int64_t now_unix_ms) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, LoadZone(txn, t_.zones, zone));
    z.capacity = capacity;
    // Monotonic: a delayed heartbeat must not make the zone look quieter than it is.
    z.last_heartbeat_unix_ms = std::max(z.last_heartbeat_unix_ms, now_unix_ms);
    return txn.Put(t_.zones, zone, EncodeZone(z));
  });
}

// Exactly-once records --------------------------------------------------------

Result<bool> Registry::ApplyRecord(std::string_view zone, uint64_t seq, const ApplyFn& apply) {
  if (seq == 0) return Status::InvalidArgument("outbox sequence numbers start at 1");
  bool applied = false;
  ANNEX_RETURN_IF_ERROR(Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, LoadZone(txn, t_.zones, zone));
    if (seq <= z.last_applied_seq) return Status::OK();  // a resend: nothing to write
    if (seq > z.last_applied_seq + 1) {
      return Status::FailedPrecondition("zone " + std::string(zone) + " sent record " + std::to_string(seq) +
                                        " but the next expected is " + std::to_string(z.last_applied_seq + 1));
    }
    ANNEX_RETURN_IF_ERROR(apply(txn));
    z.last_applied_seq = seq;
    applied = true;
    return txn.Put(t_.zones, zone, EncodeZone(z));
  }));
  return applied;
}

Result<bool> Registry::ApplyResourceRecord(std::string_view zone, uint64_t seq, const ResourceState& resource,
                                           int64_t now_unix_ms) {
  auto bad = [](std::string_view s, size_t max) { return s.empty() || s.size() > max || s.find('\0') != s.npos; };
  if (bad(resource.type, kMaxResourceTypeBytes) || bad(resource.id, kMaxResourceIdBytes)) {
    return Status::InvalidArgument("resource record needs a type and an id (no NUL bytes, not too long)");
  }
  std::string key = ResourceKey(zone, resource.type, resource.id);
  return ApplyRecord(zone, seq, [&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto stored, txn.Get(t_.resources, key));
    if (stored) {
      ANNEX_ASSIGN_OR_RETURN(ResourceState old, DecodeResource(key, *stored));
      if (old.version >= resource.version) return Status::OK();  // stale: applied, ignored
    }
    ResourceState r = resource;
    if (r.updated_unix_ms == 0) r.updated_unix_ms = now_unix_ms;
    return txn.Put(t_.resources, key, EncodeResource(r));
  });
}

// Commands --------------------------------------------------------------------

Result<Command> Registry::CreateCommand(std::string_view zone, std::string_view kind, std::string_view args_json,
                                        int64_t now_unix_ms, std::string_view command_id) {
  if (kind.empty()) return Status::InvalidArgument("a command needs a kind");
  if (!command_id.empty() && !IsValidCommandId(command_id)) {
    return Status::InvalidArgument("command id: 1-64 of [A-Za-z0-9._-]");
  }
  Command created;
  ANNEX_RETURN_IF_ERROR(Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_RETURN_IF_ERROR(LoadZone(txn, t_.zones, zone).status());
    std::string id(command_id);
    if (!id.empty()) {
      ANNEX_ASSIGN_OR_RETURN(std::optional<CommandRecord> existing, FindCommand(txn, t_.commands, id));
      if (existing) {
        const Command& c = existing->command;
        if (c.zone != zone || c.kind != kind || c.args_json != args_json) {
          return Status::AlreadyExists("command " + id + " exists with other parameters");
        }
        created = c;  // a retried create
        return Status::OK();
      }
    } else {
      // 64 random bits: a collision is practically impossible, but checking is cheap.
      do {
        id = "cmd-" + os::RandomHex(8);
        ANNEX_ASSIGN_OR_RETURN(auto taken, txn.Get(t_.commands, id));
        if (!taken) break;
      } while (true);
    }
    CommandRecord r;
    r.command = Command{id, std::string(zone), std::string(kind), std::string(args_json), std::string(kPending),
                        "", now_unix_ms,       now_unix_ms};
    ANNEX_ASSIGN_OR_RETURN(r.order, NextCommandOrder(txn, t_.meta));
    ANNEX_RETURN_IF_ERROR(txn.Put(t_.commands, id, EncodeCommand(r)));
    ANNEX_RETURN_IF_ERROR(txn.Put(t_.zone_commands, OrderKey(zone, r.order), id));
    ANNEX_RETURN_IF_ERROR(txn.Put(t_.pending_commands, OrderKey(zone, r.order), id));
    created = r.command;
    return Status::OK();
  }));
  NotifyCommands();
  return created;
}

Result<std::vector<Command>> Registry::PendingCommands(std::string_view zone) const {
  return ScanCommands(t_.pending_commands, zone);
}

Result<std::vector<Command>> Registry::ListCommands(std::string_view zone) const {
  return ScanCommands(t_.zone_commands, zone);
}

Result<std::optional<Command>> Registry::GetCommand(std::string_view command_id) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<CommandRecord> r, FindCommand(txn, t_.commands, command_id));
  if (!r) return std::optional<Command>();
  return std::optional<Command>(std::move(r->command));
}

Status Registry::MarkDelivered(std::string_view command_id, int64_t now_unix_ms, std::string_view zone) {
  return ChangeCommand(command_id, zone, [&](Command& c) -> Result<bool> {
    if (c.state != kPending && c.state != kDelivered) {
      return Status::FailedPrecondition("command " + c.id + " has already " + c.state);
    }
    c.state = std::string(kDelivered);
    c.updated_unix_ms = now_unix_ms;
    return true;
  });
}

Status Registry::FinishCommand(std::string_view command_id, bool ok, std::string_view result, int64_t now_unix_ms,
                               std::string_view zone) {
  std::string_view outcome = ok ? kSucceeded : kFailed;
  return ChangeCommand(command_id, zone, [&](Command& c) -> Result<bool> {
    if (c.state == outcome) return false;  // a repeated report (e.g. after a reconnect)
    if (c.state != kPending && c.state != kDelivered) {
      return Status::FailedPrecondition("command " + c.id + " has already " + c.state);
    }
    c.state = std::string(outcome);
    c.result = std::string(result);
    c.updated_unix_ms = now_unix_ms;
    return true;
  });
}

Status Registry::ChangeCommand(std::string_view command_id, std::string_view zone, const CommandChange& change) {
  return Write([&](store::WriteTxn& txn) -> Status {
    ANNEX_ASSIGN_OR_RETURN(std::optional<CommandRecord> r, FindCommand(txn, t_.commands, command_id));
    // Another zone's command is reported as absent, so an appliance learns nothing about other zones.
    if (!r || (!zone.empty() && r->command.zone != zone)) {
      return Status::NotFound("no command " + std::string(command_id));
    }
    ANNEX_ASSIGN_OR_RETURN(bool changed, change(r->command));
    if (!changed) return Status::OK();
    ANNEX_RETURN_IF_ERROR(txn.Put(t_.commands, command_id, EncodeCommand(*r)));
    if (r->command.state != kPending && r->command.state != kDelivered) {
      ANNEX_RETURN_IF_ERROR(DeleteIfPresent(txn, t_.pending_commands, OrderKey(r->command.zone, r->order)));
    }
    return Status::OK();
  });
}

Result<std::vector<Command>> Registry::ScanCommands(store::Table index, std::string_view zone) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (!z) return Status::NotFound("no zone " + std::string(zone));
  std::vector<Command> out;
  std::string prefix = ZonePrefix(zone);
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(index));
  ANNEX_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.Valid() && cursor.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(std::optional<CommandRecord> r, FindCommand(txn, t_.commands, cursor.value()));
    if (!r) return Status::Corruption("command index names a missing command " + std::string(cursor.value()));
    out.push_back(std::move(r->command));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

// Operator reads --------------------------------------------------------------

Result<std::vector<Site>> Registry::ListSites() const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(t_.sites));
  std::vector<Site> out;
  ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
  while (cursor.Valid()) {
    ANNEX_ASSIGN_OR_RETURN(SiteRecord s, DecodeSite(cursor.value()));
    std::string name(cursor.key());
    out.push_back({name, ZoneName(region_, name), s.created_unix_ms, s.enrolled});
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<std::vector<ZoneStatus>> Registry::ListZones(int64_t now_unix_ms) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(t_.zones));
  std::vector<ZoneStatus> out;
  ANNEX_RETURN_IF_ERROR(cursor.SeekFirst());
  while (cursor.Valid()) {
    ANNEX_ASSIGN_OR_RETURN(ZoneRecord z, DecodeZone(cursor.value()));
    out.push_back(ToStatus(cursor.key(), z, now_unix_ms));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<std::optional<ZoneStatus>> Registry::GetZone(std::string_view zone, int64_t now_unix_ms) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (!z) return std::optional<ZoneStatus>();
  return std::optional<ZoneStatus>(ToStatus(zone, *z, now_unix_ms));
}

Result<std::vector<ResourceState>> Registry::ListResources(std::string_view zone, bool include_deleted) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (!z) return Status::NotFound("no zone " + std::string(zone));
  std::vector<ResourceState> out;
  std::string prefix = ZonePrefix(zone);
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(t_.resources));
  // Key order is (type, id) order: the NUL separator sorts before any byte of a longer type.
  ANNEX_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.Valid() && cursor.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(ResourceState r, DecodeResource(cursor.key(), cursor.value()));
    if (include_deleted || !r.deleted) out.push_back(std::move(r));
    ANNEX_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<std::vector<ConnectionEvent>> Registry::History(std::string_view zone, size_t max) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (!z) return Status::NotFound("no zone " + std::string(zone));
  std::vector<ConnectionEvent> out;
  std::string prefix = ZonePrefix(zone);
  std::string end(zone);
  end.push_back('\1');  // just past every "<zone>\0..." key
  ANNEX_ASSIGN_OR_RETURN(store::Cursor cursor, txn.OpenCursor(t_.events));
  // Newest first from the end of the zone's range, then reversed.
  ANNEX_RETURN_IF_ERROR(cursor.SeekBefore(end));
  while (out.size() < max && cursor.Valid() && cursor.key().starts_with(prefix)) {
    ANNEX_ASSIGN_OR_RETURN(ConnectionEvent e, DecodeEvent(cursor.value()));
    out.push_back(std::move(e));
    ANNEX_RETURN_IF_ERROR(cursor.Prev());
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace annex::sync
