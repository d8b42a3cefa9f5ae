#include "sync/agent/agent.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/os/file_system.h"
#include "sync/agent/enrollment.h"
#include "sync/common/pki.h"
#include "sync/proto/sync.grpc.pb.h"

namespace annex::sync {
namespace {

namespace pb = annex::sync::v1;

constexpr std::chrono::milliseconds kSendPoll{100};
// gRPC keepalive of a session: a ping every kKeepaliveTime, the link given up
// kKeepaliveTimeout after one goes unanswered.
constexpr std::chrono::milliseconds kKeepaliveTime{10'000};
constexpr std::chrono::milliseconds kKeepaliveTimeout{5'000};
// How often an agent with nothing to connect with (no identity, or an
// expired certificate) looks again: the clock may have been wrong.
constexpr std::chrono::seconds kIdleRecheck{60};

// Where releases before the resource feeds kept what they had reported.
std::string ReportedPath(const std::string& state_dir) { return os::JoinPath(state_dir, "reported.json"); }

std::string Iso(int64_t unix_seconds) { return FormatIso8601(SystemTime(std::chrono::seconds(unix_seconds))); }

// "us-east-1-annex-lisbon-1" → "lisbon-1" (zone.h: <region>-annex-<site>).
std::string SiteOfZone(const std::string& zone) {
  constexpr std::string_view kMarker = "-annex-";
  size_t at = zone.find(kMarker);
  return at == std::string::npos ? zone : zone.substr(at + kMarker.size());
}

// The operator's way out, spelled out where they look first (annexctl sync status).
std::string ExpiredCertificateError(const std::string& zone, int64_t not_after, const std::string& control_plane) {
  return "the certificate of zone " + zone + " expired at " + Iso(not_after) +
         " and the control plane no longer accepts it; changes are kept and sent once the appliance re-enrolls. "
         "To re-enroll, run `annex-control sites token " + SiteOfZone(zone) +
         "` on the control plane, then `annexctl sync enroll --control-plane " + control_plane +
         " --token TOKEN --force` on this appliance";
}

// Refused and malformed tokens stay so; anything else may pass on a retry.
bool EnrollmentMayRetry(const Status& s) {
  return s.code() != StatusCode::kPermissionDenied && s.code() != StatusCode::kInvalidArgument &&
         s.code() != StatusCode::kUnauthenticated;
}

// The same zone of the same control plane: its history (last applied
// sequence number, resources) is this appliance's.
bool SameZone(const Identity& a, const Identity& b) {
  if (a.zone != b.zone) return false;
  auto ca_a = CertSha256(a.ca_pem), ca_b = CertSha256(b.ca_pem);
  return ca_a.ok() && ca_b.ok() && *ca_a == *ca_b;
}

// Proto3 strings must be valid UTF-8, or the control plane could not parse
// the record and the link would stall on it: invalid bytes become '?', and
// the text is cut at a character boundary within `max_bytes`.
std::string ValidUtf8(std::string_view in, size_t max_bytes) {
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < in.size() && static_cast<unsigned char>(in[i]) >= lo && static_cast<unsigned char>(in[i]) <= hi;
  };
  std::string out;
  for (size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    size_t n = 0;
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = cont(i + 1) ? 2 : 0;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      n = cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      n = cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (out.size() + std::max<size_t>(n, 1) > max_bytes) break;
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(in.substr(i, n));
      i += n;
    }
  }
  return out;
}

pb::UsageRecord ToProto(const UsagePeriod& u) {
  pb::UsageRecord r;
  r.set_period_start_unix_ms(u.start_unix_ms);
  r.set_period_end_unix_ms(u.end_unix_ms);
  r.set_requests(u.total.requests);
  r.set_bytes_in(u.total.bytes_in);
  r.set_bytes_out(u.total.bytes_out);
  r.set_bytes_stored(u.bytes_stored);
  r.set_objects_stored(u.objects_stored);
  std::map<std::string, pb::ServiceUsage*> by_name;
  auto service_usage = [&](const std::string& service) {
    pb::ServiceUsage*& s = by_name[service];
    if (!s) {
      s = r.add_services();
      s->set_service(service);
    }
    return s;
  };
  for (const auto& [service, c] : u.by_service) {
    pb::ServiceUsage* s = service_usage(service);
    s->set_requests(c.requests);
    s->set_bytes_in(c.bytes_in);
    s->set_bytes_out(c.bytes_out);
  }
  for (const auto& [service, gauges] : u.gauges) {
    auto* out = service_usage(service)->mutable_gauges();
    for (const auto& [name, value] : gauges) (*out)[name] = value;
  }
  return r;
}

double Uniform01() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// The outbox position under which a source's feed cursor is kept, and the
// one holding the version offset of resources reported before the feeds.
std::string FeedPosition(const std::string& source) { return "feed:" + source; }
constexpr std::string_view kVersionBase = "resource-version-base";
constexpr size_t kResourcePage = 256;

std::string EncodeResource(const std::string& type, const std::string& id, const std::string& state, uint64_t version,
                           bool deleted) {
  pb::ResourceRecord rr;
  rr.set_type(type);
  rr.set_id(id);
  rr.set_state_json(state);
  rr.set_version(version);
  rr.set_deleted(deleted);
  return rr.SerializeAsString();
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)), backoff_(options_.backoff, Uniform01), commands_(options_.execute) {}

Result<std::unique_ptr<Agent>> Agent::Start(AgentOptions options) {
  ANNEX_RETURN_IF_ERROR(os::PosixFileSystem().CreateDirs(os::JoinPath(options.state_dir, "identity")));
  std::unique_ptr<Agent> agent(new Agent(std::move(options)));
  ANNEX_ASSIGN_OR_RETURN(agent->outbox_, Outbox::Open(os::JoinPath(agent->options_.state_dir, "outbox")));
  ANNEX_ASSIGN_OR_RETURN(agent->identity_, LoadIdentity(agent->options_.state_dir));
  if (agent->identity_) agent->ReadCertificateDates();
  agent->enrolling_ =
      !agent->options_.enrollment_token.empty() && (!agent->identity_ || agent->options_.replace_identity);
  agent->next_usage_ = std::chrono::steady_clock::now() + agent->options_.usage_interval;
  agent->RecordEventOrLog("info", "agent-started",
                          "sync agent " + agent->options_.agent_version + " started" +
                              (agent->identity_ ? " as zone " + agent->identity_->zone : ", not enrolled yet"));
  ANNEX_RETURN_IF_ERROR(agent->MigrateReportedFile());
  // Changes made before the first connection are recorded right away.
  ANNEX_RETURN_IF_ERROR(agent->SyncResources());
  agent->thread_ = std::thread([a = agent.get()] { a->Run(); });
  return agent;
}

Agent::~Agent() {
  stop_ = true;
  {
    std::lock_guard lock(mu_);
    if (session_context_) static_cast<grpc::ClientContext*>(session_context_)->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
  // The last partial period: usage up to a clean stop is not lost.
  if (outbox_) RecordUsage();
}

AgentStatus Agent::status() const {
  AgentStatus s;
  std::lock_guard lock(mu_);
  s.enrolled = identity_.has_value();
  s.enrolling = enrolling_;
  s.enrollment_error = enrollment_error_;
  if (identity_) s.zone = identity_->zone;
  s.control_plane = options_.control_plane;
  s.connected_since_unix_ms = connected_since_;
  s.outbox_depth = outbox_->depth();
  s.last_sequence = outbox_->last_sequence();
  s.last_acknowledged = outbox_->last_acknowledged();
  s.certificate_not_after_unix = cert_not_after_;
  s.certificate_expired = cert_not_after_ != 0 && options_.now_unix_ms() / 1000 >= cert_not_after_;
  s.last_error = last_error_;
  return s;
}

void Agent::SetError(const std::string& e) {
  std::lock_guard lock(mu_);
  last_error_ = e;
}

Status Agent::RecordEvent(std::string_view severity, std::string_view kind, std::string_view message) {
  if (!IsEventSeverity(severity)) {
    return Status::InvalidArgument("event severity must be info, warning or error, not '" + std::string(severity) +
                                   "'");
  }
  if (!IsEventKind(kind)) return Status::InvalidArgument("an event kind is 1-64 of [a-z0-9-]");
  int64_t now = options_.now_unix_ms();
  pb::EventRecord e;
  e.set_unix_ms(now);
  e.set_severity(std::string(severity));
  e.set_kind(std::string(kind));
  e.set_message(ValidUtf8(message, kMaxEventMessageBytes));
  return outbox_->Append("event", e.SerializeAsString(), now).status();
}

void Agent::RecordEventOrLog(std::string_view severity, std::string_view kind, const std::string& message) {
  Status s = RecordEvent(severity, kind, message);
  if (!s.ok()) log::Warn("sync: cannot record an event", {{"kind", std::string(kind)}, {"error", s.message()}});
}

void Agent::RecordUsage() {
  if (!options_.usage) return;
  Status s = options_.usage->RecordPeriod(options_.now_unix_ms(), [this](const UsagePeriod& period) {
    return outbox_->Append("usage", ToProto(period).SerializeAsString(), options_.now_unix_ms()).status();
  });
  // The period is not lost: it is folded into the next one.
  if (!s.ok()) log::Warn("sync: cannot record usage", {{"error", s.message()}});
}

void Agent::RecordPeriodicIfDue() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_usage_) return;
  next_usage_ = now + options_.usage_interval;
  RecordUsage();
  if (!options_.periodic_events) return;
  for (const ApplianceEvent& e : options_.periodic_events()) RecordEventOrLog(e.severity, e.kind, e.message);
}

Status Agent::SyncResources() {
  std::lock_guard lock(resources_mu_);
  ANNEX_ASSIGN_OR_RETURN(uint64_t base, outbox_->Position(kVersionBase));
  for (const ResourceSource& source : options_.resources) {
    std::string position = FeedPosition(source.name);
    ANNEX_ASSIGN_OR_RETURN(uint64_t cursor, outbox_->Position(position));
    for (bool more = true; more;) {
      Result<ResourcePage> page = source.read(cursor, kResourcePage);
      if (!page.ok()) {
        return Status(page.status().code(), "reading " + source.name + "'s resources: " + page.status().message());
      }
      more = page->more;
      if (page->cursor == cursor) break;
      std::vector<std::string> records;
      records.reserve(page->changes.size());
      for (const ResourceChange& c : page->changes) {
        records.push_back(EncodeResource(c.type, c.id, c.state_json, base + c.version, c.deleted));
      }
      // The records and the feed's new position commit together: after a
      // crash the agent neither reports a change twice nor skips one.
      ANNEX_RETURN_IF_ERROR(
          outbox_->AppendAt("resource", records, options_.now_unix_ms(), position, page->cursor).status());
      cursor = page->cursor;
    }
  }
  return Status::OK();
}

// A failing feed is retried at the next heartbeat; the same failure is logged once.
void Agent::SyncResourcesOrLog() {
  Status s = SyncResources();
  std::string error = s.ok() ? "" : s.ToString();
  if (!error.empty() && error != resources_error_) log::Warn("sync: cannot record resource changes", {{"error", error}});
  resources_error_ = error;
}

// An appliance upgraded from a release that compared full inventories with
// a reported.json: versions must go on above the ones already sent, and
// resources deleted since that file was written are reported deleted.
// Done once, in one commit with the version offset; the feeds then report
// every live resource afresh.
Status Agent::MigrateReportedFile() {
  const std::string path = ReportedPath(options_.state_dir);
  os::FileSystem& fs = os::PosixFileSystem();
  if (!fs.Exists(path)) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(uint64_t base, outbox_->Position(kVersionBase));
  if (base == 0) {
    ANNEX_ASSIGN_OR_RETURN(std::string text, os::ReadFileToString(fs, path));
    auto reported = nlohmann::json::parse(text, nullptr, false);
    if (!reported.is_object()) return Status::Corruption(path + " is damaged");
    std::set<std::string> live;
    for (const ResourceSource& source : options_.resources) {
      for (uint64_t cursor = 0;;) {
        ANNEX_ASSIGN_OR_RETURN(ResourcePage page, source.read(cursor, kResourcePage));
        for (const auto& c : page.changes) live.insert(c.type + std::string(1, '\0') + c.id);
        if (!page.more || page.cursor == cursor) break;
        cursor = page.cursor;
      }
    }
    for (auto& [key, v] : reported.items()) base = std::max(base, v.value("version", uint64_t{0}));
    ++base;  // the deletions below take this version; the feeds' versions (1, 2, …) go above it
    std::vector<std::string> deletions;
    for (auto& [key, v] : reported.items()) {
      size_t nul = key.find('\0');
      if (nul == std::string::npos || v.value("deleted", false) || live.count(key)) continue;
      deletions.push_back(EncodeResource(key.substr(0, nul), key.substr(nul + 1), "", base, true));
    }
    ANNEX_RETURN_IF_ERROR(
        outbox_->AppendAt("resource", deletions, options_.now_unix_ms(), kVersionBase, base).status());
    log::Info("sync: resources now reported from each service's change feed",
              {{"versions_from", std::to_string(base + 1)}, {"deleted", std::to_string(deletions.size())}});
  }
  return fs.Remove(path);
}

// Waits between connection attempts. Inventory changes and usage keep going
// into the outbox meanwhile: offline work is recorded when it happens, not
// when the link returns.
void Agent::SleepFor(std::chrono::milliseconds d) {
  auto now = std::chrono::steady_clock::now();
  auto until = now + d;
  auto next_resources = now + options_.heartbeat;
  while (!stop_ && (now = std::chrono::steady_clock::now()) < until) {
    if (now >= next_resources) {
      SyncResourcesOrLog();
      next_resources = now + options_.heartbeat;
    }
    RecordPeriodicIfDue();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Agent::ReadCertificateDates() {
  expiry_reported_ = false;
  auto info = ReadCert(identity_->cert_pem);
  if (!info.ok()) return;
  cert_not_after_ = info->not_after_unix;
  // Counted from now, not from not_before: certificates are backdated for
  // clock skew, and an identity loaded late in its life still renews in time.
  CertInfo remaining = *info;
  remaining.not_before_unix = std::max(info->not_before_unix, options_.now_unix_ms() / 1000);
  renew_at_ = RenewalTime(remaining, Uniform01());
}

Status Agent::RenewIfDue() {
  Identity current;
  {
    std::lock_guard lock(mu_);
    if (!identity_ || options_.now_unix_ms() / 1000 < renew_at_) return Status::OK();
    current = *identity_;
  }
  ANNEX_ASSIGN_OR_RETURN(std::string new_key, GenerateKey());
  ANNEX_ASSIGN_OR_RETURN(std::string csr, MakeCsr(new_key, current.zone));
  grpc::SslCredentialsOptions ssl{current.ca_pem, current.key_pem, current.cert_pem};
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(std::string(kControlPlaneServerName));
  auto stub = pb::Sync::NewStub(grpc::CreateCustomChannel(options_.control_plane, grpc::SslCredentials(ssl), args));
  pb::RenewRequest req;
  req.set_csr_pem(csr);
  pb::RenewResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s = stub->Renew(&ctx, req, &resp);
  if (!s.ok()) return Status::Unavailable("certificate renewal failed: " + s.error_message());
  ANNEX_RETURN_IF_ERROR(VerifyIssuedBy(resp.certificate_pem(), current.ca_pem, options_.now_unix_ms() / 1000));
  ANNEX_ASSIGN_OR_RETURN(CertInfo info, ReadCert(resp.certificate_pem()));
  if (info.common_name != current.zone) {
    return Status::PermissionDenied("renewed certificate names " + info.common_name);
  }
  current.key_pem = new_key;
  current.cert_pem = resp.certificate_pem();
  ANNEX_RETURN_IF_ERROR(SaveIdentity(options_.state_dir, current));
  {
    std::lock_guard lock(mu_);
    identity_ = current;
    ReadCertificateDates();
  }
  log::Info("sync: certificate renewed", {{"zone", current.zone}, {"expires", Iso(info.not_after_unix)}});
  RecordEventOrLog("info", "certificate-renewed", "certificate renewed, valid until " + Iso(info.not_after_unix));
  return Status::OK();
}

// One try with the token. A refused token is dropped (trying it again would
// only fill the control plane's log); an unreachable control plane is tried
// again after the backoff.
Status Agent::EnrollWithToken() {
  Result<Enrollment> e = Enroll(options_.control_plane, options_.enrollment_token, options_.agent_version);
  if (e.ok()) {
    return AdoptEnrollment(Identity{e->zone, e->key_pem, e->cert_pem, e->ca_pem, options_.control_plane});
  }
  bool retry = EnrollmentMayRetry(e.status());
  if (!retry) options_.enrollment_token.clear();
  std::lock_guard lock(mu_);
  // Refused: the appliance goes on with its identity, at the address it enrolled at.
  if (!retry && identity_ && !identity_->control_plane.empty()) options_.control_plane = identity_->control_plane;
  enrolling_ = retry;
  enrollment_error_ = e.status().message();
  last_error_ = e.status().message();
  return e.status();
}

Status Agent::AdoptEnrollment(Identity next) {
  std::optional<Identity> previous;
  {
    std::lock_guard lock(mu_);
    previous = identity_;
  }
  bool new_history = previous && !SameZone(*previous, next);
  // Before the identity is replaced: a crash in between leaves the old zone
  // with a restarted outbox (stale there, never a link stuck on a gap), and
  // the operator enrolls again.
  if (new_history) ANNEX_RETURN_IF_ERROR(StartNewHistory());
  ANNEX_RETURN_IF_ERROR(SaveIdentity(options_.state_dir, next));
  options_.enrollment_token.clear();
  {
    std::lock_guard lock(mu_);
    identity_ = next;
    ReadCertificateDates();
    enrolling_ = false;
    enrollment_error_.clear();
    last_error_.clear();
  }
  if (!previous) {
    log::Info("sync: enrolled", {{"zone", next.zone}, {"control_plane", options_.control_plane}});
    RecordEventOrLog("info", "enrolled", "enrolled as zone " + next.zone + " with " + options_.control_plane);
  } else {
    log::Info("sync: re-enrolled", {{"zone", next.zone},
                                    {"previous_zone", previous->zone},
                                    {"control_plane", options_.control_plane},
                                    {"outbox", new_history ? "started over for the new zone" : "kept"}});
    // The new zone sees an enrollment; the same zone sees a new key and certificate.
    if (new_history) {
      RecordEventOrLog("info", "enrolled", "enrolled as zone " + next.zone + ", previously zone " + previous->zone);
    } else {
      RecordEventOrLog("info", "re-enrolled", "re-enrolled with a new key and certificate");
    }
  }
  if (new_history) return SyncResources();  // the new zone has nothing yet: report everything
  return Status::OK();
}

// The outbox's numbers and the feeds' positions belong to the zone they were sent to.
Status Agent::StartNewHistory() {
  std::lock_guard lock(resources_mu_);
  return outbox_->Reset();  // and with it the feeds' positions: the new zone gets every resource
}

bool Agent::Enrolling() const {
  std::lock_guard lock(mu_);
  return enrolling_;
}

bool Agent::HasIdentity() const {
  std::lock_guard lock(mu_);
  return identity_.has_value();
}

// Reports an expired certificate once per certificate (it would only be
// refused, so it is not offered).
bool Agent::CertificateExpired() {
  std::string error;
  bool first_report = false;
  {
    std::lock_guard lock(mu_);
    if (!identity_ || cert_not_after_ == 0 || options_.now_unix_ms() / 1000 < cert_not_after_) return false;
    error = ExpiredCertificateError(identity_->zone, cert_not_after_, options_.control_plane);
    first_report = !expiry_reported_;
    expiry_reported_ = true;
  }
  if (first_report) {
    log::Warn("sync: client certificate expired; not connecting until re-enrolled", {{"error", error}});
    RecordEventOrLog("error", "certificate-expired", error);
  }
  SetError(error);  // after the event: whoever sees the error finds the event recorded
  return true;
}

void Agent::Run() {
  while (!stop_) {
    if (Enrolling()) {
      Status enrolled = EnrollWithToken();
      if (!enrolled.ok()) {
        log::Warn("sync: enrollment failed", {{"error", enrolled.message()}});
        // Still enrolling: the control plane may answer later. Refused: go
        // on with the identity the appliance had, if any.
        if (Enrolling()) {
          SleepFor(backoff_.Next());
          continue;
        }
      }
    }
    if (!HasIdentity()) {
      {
        std::lock_guard lock(mu_);
        if (last_error_.empty()) {
          last_error_ = "not enrolled: run `annexctl sync enroll --control-plane HOST:PORT --token TOKEN`";
        }
      }
      SleepFor(kIdleRecheck);
      continue;
    }
    if (CertificateExpired()) {
      SleepFor(kIdleRecheck);
      continue;
    }
    Status renewed = RenewIfDue();
    if (!renewed.ok()) {
      SetError(renewed.message());
      log::Warn("sync: certificate renewal failed", {{"error", renewed.message()}});
      // The current certificate still works: keep the session, try again in a minute.
      std::lock_guard lock(mu_);
      renew_at_ = options_.now_unix_ms() / 1000 + 60;
    }
    Session();
    if (!stop_) SleepFor(backoff_.Next());
  }
}

void Agent::Session() {
  Identity id;
  {
    std::lock_guard lock(mu_);
    id = *identity_;
  }
  const std::string& zone = id.zone;
  grpc::SslCredentialsOptions ssl{id.ca_pem, id.key_pem, id.cert_pem};
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(std::string(kControlPlaneServerName));
  // A blackholed link (no reset, no error) is noticed within ~15 s, well
  // before the control plane would call the zone impaired (50 s).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTime.count());
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeout.count());
  auto stub = pb::Sync::NewStub(grpc::CreateCustomChannel(options_.control_plane, grpc::SslCredentials(ssl), args));
  grpc::ClientContext ctx;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    session_context_ = &ctx;
  }
  auto stream = stub->Connect(&ctx);
  std::mutex write_mu;
  auto write = [&](const pb::AgentMessage& m) {
    std::lock_guard lock(write_mu);
    return stream->Write(m);
  };

  pb::AgentMessage hello;
  hello.mutable_hello()->set_zone(zone);
  hello.mutable_hello()->set_agent_version(options_.agent_version);
  hello.mutable_hello()->set_last_sequence(outbox_->last_sequence());
  pb::ControlMessage welcome;
  if (!write(hello) || !stream->Read(&welcome) || !welcome.has_welcome()) {
    grpc::Status s = stream->Finish();
    SetError("cannot open a session: " + s.error_message());
    std::lock_guard lock(mu_);
    session_context_ = nullptr;
    return;
  }
  // What the control plane already applied needs no resending.
  uint64_t applied = std::min(welcome.welcome().last_applied_seq(), outbox_->last_sequence());
  (void)outbox_->Acknowledge(applied);
  backoff_.Reset();
  {
    std::lock_guard lock(mu_);
    connected_since_ = options_.now_unix_ms();
    last_error_.clear();
  }
  log::Info("sync: connected", {{"zone", zone}, {"resume_after", std::to_string(applied)}});

  // Results of commands finished while this session lives go out on it.
  commands_.SetReporter([&write](const std::string& id, bool ok, const std::string& message) {
    pb::AgentMessage result;
    result.mutable_command_result()->set_command_id(id);
    result.mutable_command_result()->set_ok(ok);
    result.mutable_command_result()->set_message(message);
    return write(result);
  });
  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    pb::ControlMessage m;
    while (stream->Read(&m)) {
      if (m.has_ack()) {
        Status s = outbox_->Acknowledge(m.ack().seq());
        if (!s.ok()) log::Warn("sync: bad acknowledgement", {{"error", s.message()}});
      } else if (m.has_command()) {
        const auto& c = m.command();
        commands_.Submit(c.command_id(), c.kind(), c.args_json());
      }
    }
    reader_done = true;
  });

  uint64_t next = outbox_->last_acknowledged() + 1;
  auto last_heartbeat = std::chrono::steady_clock::time_point{};
  bool healthy = true;
  auto renewal_due = [&] {
    std::lock_guard lock(mu_);
    return options_.now_unix_ms() / 1000 >= renew_at_;
  };
  while (!stop_ && !reader_done && healthy && !renewal_due()) {
    RecordPeriodicIfDue();
    auto now = std::chrono::steady_clock::now();
    if (now - last_heartbeat >= options_.heartbeat) {
      last_heartbeat = now;
      SyncResourcesOrLog();
      pb::AgentMessage hb;
      hb.mutable_heartbeat()->set_sent_unix_ms(options_.now_unix_ms());
      hb.mutable_heartbeat()->set_outbox_depth(outbox_->depth());
      if (options_.capacity) {
        AgentCapacity c = options_.capacity();
        auto* pc = hb.mutable_heartbeat()->mutable_capacity();
        pc->set_cpus(c.cpus);
        pc->set_memory_bytes(c.memory_bytes);
        pc->set_disk_bytes(c.disk_bytes);
        pc->set_disk_free_bytes(c.disk_free_bytes);
        for (const auto& s : c.services) pc->add_services(s);
        for (const auto& command : c.commands) {
          auto* spec = pc->add_commands();
          spec->set_kind(command.kind);
          spec->set_service(command.service);
          spec->set_args_schema_json(command.args_schema_json);
        }
      }
      healthy = write(hb);
    }
    auto records = outbox_->ReadFrom(next, 256);
    if (records.ok()) {
      for (const auto& r : *records) {
        pb::AgentMessage m;
        m.mutable_record()->set_seq(r.seq);
        m.mutable_record()->set_kind(r.kind);
        m.mutable_record()->set_payload(r.payload);
        m.mutable_record()->set_created_unix_ms(r.created_unix_ms);
        if (!(healthy = write(m))) break;
        next = r.seq + 1;
      }
    }
    std::this_thread::sleep_for(kSendPoll);
  }
  // A stream the control plane or the network ended already carries the
  // reason (reset, keepalive timeout, refusal): cancelling it would replace
  // that with CANCELLED. Only a session this side ends is cancelled.
  bool ended_by_peer = reader_done;
  if (!ended_by_peer) {
    {
      std::lock_guard lock(write_mu);
      stream->WritesDone();
    }
    ctx.TryCancel();
  }
  commands_.SetReporter(nullptr);  // before the stream it writes to goes away
  reader.join();
  grpc::Status s = stream->Finish();
  {
    std::lock_guard lock(mu_);
    session_context_ = nullptr;
    connected_since_ = 0;
    if (!stop_) last_error_ = "session ended: " + (s.ok() ? std::string("closed") : s.error_message());
  }
  if (!stop_) log::Warn("sync: disconnected", {{"zone", zone}, {"status", s.error_message()}});
}

}  // namespace annex::sync
