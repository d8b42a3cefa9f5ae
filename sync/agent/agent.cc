#include "sync/agent/agent.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "appliance/core/log.h"
#include "appliance/os/file_system.h"
#include "sync/agent/enrollment.h"
#include "sync/common/pki.h"
#include "sync/proto/sync.grpc.pb.h"

namespace annex::sync {
namespace {

namespace pb = annex::sync::v1;

constexpr std::chrono::milliseconds kSendPoll{100};

std::string IdentityPath(const std::string& state_dir) {
  return os::JoinPath(os::JoinPath(state_dir, "identity"), "identity.json");
}

double Uniform01() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// What was last reported per resource: "type\0id" → {version, state, deleted}.
struct Reported {
  uint64_t version = 0;
  std::string state_json;
  bool deleted = false;
};

Result<std::map<std::string, Reported>> LoadReported(const std::string& path) {
  std::map<std::string, Reported> out;
  auto text = os::ReadFileToString(os::PosixFileSystem(), path);
  if (!text.ok()) return out;  // nothing reported yet
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return Status::Corruption(path + " is damaged");
  for (auto& [key, v] : j.items()) {
    Reported r;
    r.version = v.value("version", uint64_t{0});
    r.state_json = v.value("state", std::string());
    r.deleted = v.value("deleted", false);
    out[key] = r;
  }
  return out;
}

Status SaveReported(const std::string& path, const std::map<std::string, Reported>& reported) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, r] : reported) {
    nlohmann::json v = nlohmann::json::object();
    v["version"] = r.version;
    v["state"] = r.state_json;
    v["deleted"] = r.deleted;
    j[key] = v;
  }
  return os::WriteFileAtomic(os::PosixFileSystem(), path, j.dump(), 0600);
}

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)), backoff_(options_.backoff, Uniform01) {}

Result<std::unique_ptr<Agent>> Agent::Start(AgentOptions options) {
  os::FileSystem& fs = os::PosixFileSystem();
  ANNEX_RETURN_IF_ERROR(fs.CreateDirs(os::JoinPath(options.state_dir, "identity")));
  std::unique_ptr<Agent> agent(new Agent(std::move(options)));
  ANNEX_ASSIGN_OR_RETURN(agent->outbox_, Outbox::Open(os::JoinPath(agent->options_.state_dir, "outbox")));
  auto identity = os::ReadFileToString(fs, IdentityPath(agent->options_.state_dir));
  if (identity.ok()) {
    auto j = nlohmann::json::parse(*identity, nullptr, false);
    if (!j.is_object() || !j.contains("zone") || !j.contains("key") || !j.contains("cert") || !j.contains("ca")) {
      return Status::Corruption(IdentityPath(agent->options_.state_dir) + " is damaged");
    }
    agent->zone_ = j["zone"].get<std::string>();
    agent->key_pem_ = j["key"].get<std::string>();
    agent->ca_pem_ = j["ca"].get<std::string>();
    agent->SetCertificate(j["cert"].get<std::string>());
  }
  // Changes made before the first connection are recorded right away.
  ANNEX_RETURN_IF_ERROR(agent->SyncInventory());
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
}

AgentStatus Agent::status() const {
  AgentStatus s;
  std::lock_guard lock(mu_);
  s.enrolled = !zone_.empty();
  s.zone = zone_;
  s.connected_since_unix_ms = connected_since_;
  s.outbox_depth = outbox_->depth();
  s.last_sequence = outbox_->last_sequence();
  s.last_acknowledged = outbox_->last_acknowledged();
  s.certificate_not_after_unix = cert_not_after_;
  s.last_error = last_error_;
  return s;
}

void Agent::SetError(const std::string& e) {
  std::lock_guard lock(mu_);
  last_error_ = e;
}

Status Agent::SyncInventory() {
  if (!options_.inventory) return Status::OK();
  std::lock_guard lock(inventory_mu_);
  std::string path = os::JoinPath(options_.state_dir, "reported.json");
  ANNEX_ASSIGN_OR_RETURN(auto reported, LoadReported(path));
  std::map<std::string, InventoryItem> now;
  for (auto& item : options_.inventory()) now[item.type + std::string(1, '\0') + item.id] = std::move(item);
  bool changed = false;
  auto append = [&](const std::string& key, const std::string& type, const std::string& id, const std::string& state,
                    bool deleted) -> Status {
    Reported& r = reported[key];
    ++r.version;
    r.state_json = state;
    r.deleted = deleted;
    pb::ResourceRecord rr;
    rr.set_type(type);
    rr.set_id(id);
    rr.set_state_json(state);
    rr.set_version(r.version);
    rr.set_deleted(deleted);
    changed = true;
    return outbox_->Append("resource", rr.SerializeAsString(), options_.now_unix_ms()).status();
  };
  for (const auto& [key, item] : now) {
    auto it = reported.find(key);
    if (it == reported.end() || it->second.deleted || it->second.state_json != item.state_json) {
      ANNEX_RETURN_IF_ERROR(append(key, item.type, item.id, item.state_json, false));
    }
  }
  for (auto& [key, r] : reported) {
    if (r.deleted || now.count(key)) continue;
    size_t nul = key.find('\0');
    ANNEX_RETURN_IF_ERROR(append(key, key.substr(0, nul), key.substr(nul + 1), "", true));
  }
  // A crash before this write re-appends the same versions next time; the
  // control plane ignores versions it already has.
  return changed ? SaveReported(path, reported) : Status::OK();
}

// Waits between connection attempts. Inventory changes keep going into the
// outbox meanwhile: offline work is recorded when it happens, not when the
// link returns.
void Agent::SleepFor(std::chrono::milliseconds d) {
  auto now = std::chrono::steady_clock::now();
  auto until = now + d;
  auto next_inventory = now + options_.heartbeat;
  while (!stop_ && (now = std::chrono::steady_clock::now()) < until) {
    if (now >= next_inventory) {
      (void)SyncInventory();
      next_inventory = now + options_.heartbeat;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Agent::SetCertificate(const std::string& cert_pem) {
  cert_pem_ = cert_pem;
  auto info = ReadCert(cert_pem);
  if (!info.ok()) return;
  cert_not_after_ = info->not_after_unix;
  // Counted from now, not from not_before: certificates are backdated for
  // clock skew, and an identity loaded late in its life still renews in time.
  CertInfo remaining = *info;
  remaining.not_before_unix = std::max(info->not_before_unix, options_.now_unix_ms() / 1000);
  renew_at_ = RenewalTime(remaining, Uniform01());
}

// One file, replaced atomically: a crash never pairs a new key with an old certificate.
Status Agent::SaveIdentity() {
  nlohmann::json j = nlohmann::json::object();
  {
    std::lock_guard lock(mu_);
    j["zone"] = zone_;
    j["key"] = key_pem_;
    j["cert"] = cert_pem_;
    j["ca"] = ca_pem_;
  }
  return os::WriteFileAtomic(os::PosixFileSystem(), IdentityPath(options_.state_dir), j.dump(), 0600);
}

Status Agent::RenewIfDue() {
  std::string zone, key, cert, ca;
  {
    std::lock_guard lock(mu_);
    if (zone_.empty() || options_.now_unix_ms() / 1000 < renew_at_) return Status::OK();
    zone = zone_;
    key = key_pem_;
    cert = cert_pem_;
    ca = ca_pem_;
  }
  ANNEX_ASSIGN_OR_RETURN(std::string new_key, GenerateKey());
  ANNEX_ASSIGN_OR_RETURN(std::string csr, MakeCsr(new_key, zone));
  grpc::SslCredentialsOptions ssl{ca, key, cert};
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
  ANNEX_RETURN_IF_ERROR(VerifyIssuedBy(resp.certificate_pem(), ca, options_.now_unix_ms() / 1000));
  ANNEX_ASSIGN_OR_RETURN(CertInfo info, ReadCert(resp.certificate_pem()));
  if (info.common_name != zone) return Status::PermissionDenied("renewed certificate names " + info.common_name);
  {
    std::lock_guard lock(mu_);
    key_pem_ = new_key;
    SetCertificate(resp.certificate_pem());
  }
  ANNEX_RETURN_IF_ERROR(SaveIdentity());
  log::Info("sync: certificate renewed", {{"zone", zone}, {"expires", std::to_string(info.not_after_unix)}});
  return Status::OK();
}

Status Agent::EnsureEnrolled() {
  {
    std::lock_guard lock(mu_);
    if (!zone_.empty()) return Status::OK();
  }
  if (options_.enrollment_token.empty()) return Status::FailedPrecondition("not enrolled and no enrollment token");
  ANNEX_ASSIGN_OR_RETURN(Enrollment e, Enroll(options_.control_plane, options_.enrollment_token,
                                              options_.agent_version));
  {
    std::lock_guard lock(mu_);
    zone_ = e.zone;
    key_pem_ = e.key_pem;
    ca_pem_ = e.ca_pem;
    SetCertificate(e.cert_pem);
  }
  ANNEX_RETURN_IF_ERROR(SaveIdentity());
  log::Info("sync: enrolled", {{"zone", e.zone}, {"control_plane", options_.control_plane}});
  return Status::OK();
}

void Agent::Run() {
  while (!stop_) {
    Status enrolled = EnsureEnrolled();
    if (!enrolled.ok()) {
      SetError(enrolled.message());
      log::Warn("sync: enrollment failed", {{"error", enrolled.message()}});
      SleepFor(backoff_.Next());
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
  std::string zone, key, cert, ca;
  {
    std::lock_guard lock(mu_);
    zone = zone_;
    key = key_pem_;
    cert = cert_pem_;
    ca = ca_pem_;
  }
  grpc::SslCredentialsOptions ssl{ca, key, cert};
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(std::string(kControlPlaneServerName));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
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

  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    pb::ControlMessage m;
    while (stream->Read(&m)) {
      if (m.has_ack()) {
        Status s = outbox_->Acknowledge(m.ack().seq());
        if (!s.ok()) log::Warn("sync: bad acknowledgement", {{"error", s.message()}});
      } else if (m.has_command()) {
        const auto& c = m.command();
        Result<std::string> r = options_.execute ? options_.execute(c.kind(), c.args_json())
                                                 : Result<std::string>(Status::NotFound("no command executor"));
        pb::AgentMessage result;
        result.mutable_command_result()->set_command_id(c.command_id());
        result.mutable_command_result()->set_ok(r.ok());
        result.mutable_command_result()->set_message(r.ok() ? *r : r.status().message());
        log::Info("sync: command", {{"id", c.command_id()}, {"kind", c.kind()}, {"ok", r.ok() ? "true" : "false"}});
        if (!write(result)) break;
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
    auto now = std::chrono::steady_clock::now();
    if (now - last_heartbeat >= options_.heartbeat) {
      last_heartbeat = now;
      (void)SyncInventory();
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
  {
    std::lock_guard lock(write_mu);
    stream->WritesDone();
  }
  ctx.TryCancel();
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
