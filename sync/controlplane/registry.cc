#include "sync/controlplane/registry.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <utility>

#include "appliance/os/random.h"
#include "appliance/store/record.h"
#include "sync/controlplane/registry_records.h"

namespace annex::sync {

// The on-disk layout (keys, encodings, transaction steps) is this file's vocabulary.
using namespace registry_records;  // NOLINT(google-build-using-namespace)

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
  ANNEX_ASSIGN_OR_RETURN(t.usage, env->OpenTable("usage"));
  ANNEX_ASSIGN_OR_RETURN(t.appliance_events, env->OpenTable("appliance_events"));
  ANNEX_ASSIGN_OR_RETURN(t.row_counts, env->OpenTable("row_counts"));
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

Result<bool> Registry::ApplyUsageRecord(std::string_view zone, uint64_t seq, const UsagePeriod& usage) {
  if (usage.start_unix_ms < 0 || usage.end_unix_ms < usage.start_unix_ms) {
    return Status::InvalidArgument("a usage period must not end before it starts, nor start before 1970");
  }
  for (const auto& [service, counters] : usage.by_service) {
    if (service.empty() || service.size() > kMaxServiceNameBytes) {
      return Status::InvalidArgument("usage service names are 1-64 bytes");
    }
  }
  for (const auto& [service, named] : usage.gauges) {
    if (service.empty() || service.size() > kMaxServiceNameBytes) {
      return Status::InvalidArgument("usage service names are 1-64 bytes");
    }
    if (named.size() > kMaxGaugesPerService) return Status::InvalidArgument("at most 64 gauges per service");
    for (const auto& [name, value] : named) {
      if (name.empty() || name.size() > kMaxServiceNameBytes) {
        return Status::InvalidArgument("usage gauge names are 1-64 bytes");
      }
    }
  }
  std::string key = UsageKey(zone, usage.end_unix_ms, seq);
  std::string value = EncodeUsage(usage);
  BoundedTable table{t_.usage, "usage", kMaxUsagePeriods};
  return ApplyRecord(zone, seq, [&](store::WriteTxn& txn) -> Status {
    return PutBounded(txn, t_.row_counts, table, zone, key, value);
  });
}

Result<bool> Registry::ApplyEventRecord(std::string_view zone, uint64_t seq, const ApplianceEvent& event) {
  if (!IsEventSeverity(event.severity)) {
    return Status::InvalidArgument("event severity '" + event.severity + "' is not info, warning or error");
  }
  if (!IsEventKind(event.kind)) return Status::InvalidArgument("an event kind is 1-64 of [a-z0-9-]");
  if (event.message.size() > kMaxEventMessageBytes) return Status::InvalidArgument("event message too long");
  std::string key = OrderKey(zone, seq);
  std::string value = EncodeApplianceEvent(event);
  BoundedTable table{t_.appliance_events, "appliance_events", kMaxApplianceEvents};
  return ApplyRecord(zone, seq, [&](store::WriteTxn& txn) -> Status {
    return PutBounded(txn, t_.row_counts, table, zone, key, value);
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
    ANNEX_ASSIGN_OR_RETURN(bool known, ZoneKnown(txn, zone));
    if (!known) return Status::NotFound("no zone " + std::string(zone));
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

Result<bool> Registry::ZoneKnown(const store::ReadTxn& txn, std::string_view zone) const {
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (z) return true;
  std::string prefix = ZoneName(region_, "");
  if (!zone.starts_with(prefix)) return false;
  ANNEX_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, FindSite(txn, t_.sites, zone.substr(prefix.size())));
  return site.has_value();
}

Result<std::vector<Command>> Registry::ScanCommands(store::Table index, std::string_view zone) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(bool known, ZoneKnown(txn, zone));
  if (!known) return Status::NotFound("no zone " + std::string(zone));
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
  // Newest first from the end of the zone's range, then reversed.
  ANNEX_RETURN_IF_ERROR(
      ScanZoneBackwards(txn, t_.events, zone, [&](std::string_view, std::string_view value) -> Result<bool> {
        if (out.size() >= max) return false;
        ANNEX_ASSIGN_OR_RETURN(ConnectionEvent e, DecodeEvent(value));
        out.push_back(std::move(e));
        return true;
      }));
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::vector<UsageEntry>> Registry::ListUsage(std::string_view zone, int64_t since_unix_ms, size_t max) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (!z) return Status::NotFound("no zone " + std::string(zone));
  std::vector<UsageEntry> out;
  ANNEX_RETURN_IF_ERROR(
      ScanZoneBackwards(txn, t_.usage, zone, [&](std::string_view key, std::string_view value) -> Result<bool> {
        if (out.size() >= max) return false;
        ANNEX_ASSIGN_OR_RETURN(UsagePeriod period, DecodeUsage(value));
        if (period.end_unix_ms <= since_unix_ms) return false;  // keys run in order of period end
        out.push_back({SeqOfKey(key), std::move(period)});
        return true;
      }));
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::vector<ApplianceEvent>> Registry::ListApplianceEvents(std::string_view zone, size_t max) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneRecord> z, FindZone(txn, t_.zones, zone));
  if (!z) return Status::NotFound("no zone " + std::string(zone));
  std::vector<ApplianceEvent> out;
  ANNEX_RETURN_IF_ERROR(ScanZoneBackwards(txn, t_.appliance_events, zone,
                                          [&](std::string_view key, std::string_view value) -> Result<bool> {
                                            if (out.size() >= max) return false;
                                            ANNEX_ASSIGN_OR_RETURN(ApplianceEvent e, DecodeApplianceEvent(key, value));
                                            out.push_back(std::move(e));
                                            return true;
                                          }));
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace annex::sync
