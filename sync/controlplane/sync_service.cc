#include "sync/controlplane/sync_service.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "sync/common/enrollment_token.h"
#include "sync/common/zone.h"
#include "sync/proto/sync.grpc.pb.h"

namespace annex::sync {
namespace {

namespace pb = annex::sync::v1;

grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, s.message()};
    case StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, s.message()};
    case StatusCode::kAlreadyExists:
      return {grpc::StatusCode::ALREADY_EXISTS, s.message()};
    case StatusCode::kPermissionDenied:
      return {grpc::StatusCode::PERMISSION_DENIED, s.message()};
    case StatusCode::kUnauthenticated:
      return {grpc::StatusCode::UNAUTHENTICATED, s.message()};
    case StatusCode::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, s.message()};
    default:
      return {grpc::StatusCode::INTERNAL, s.message()};
  }
}

// The verified client certificate of the peer, or "" (Enroll has none).
std::string PeerCertPem(const grpc::ServerContext* ctx) {
  auto auth = ctx->auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  auto pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  return pem.empty() ? "" : std::string(pem.front().data(), pem.front().size());
}

UsagePeriod FromProto(const pb::UsageRecord& ur) {
  UsagePeriod u;
  u.start_unix_ms = ur.period_start_unix_ms();
  u.end_unix_ms = ur.period_end_unix_ms();
  u.total = {ur.requests(), ur.bytes_in(), ur.bytes_out()};
  u.bytes_stored = ur.bytes_stored();
  u.objects_stored = ur.objects_stored();
  for (const auto& s : ur.services()) {
    if (s.requests() || s.bytes_in() || s.bytes_out()) {
      UsageCounters& c = u.by_service[s.service()];
      c.requests += s.requests();
      c.bytes_in += s.bytes_in();
      c.bytes_out += s.bytes_out();
    }
    for (const auto& [name, value] : s.gauges()) u.gauges[s.service()][name] = value;
  }
  return u;
}

class SyncServiceImpl final : public pb::Sync::Service {
 public:
  SyncServiceImpl(Registry& registry, SyncServiceOptions options)
      : registry_(registry), options_(std::move(options)), ca_sha256_(CertSha256(options_.ca.cert_pem).value()) {}

  grpc::Status Enroll(grpc::ServerContext*, const pb::EnrollRequest* req, pb::EnrollResponse* resp) override {
    auto token = ParseToken(req->token());
    if (!token.ok()) return ToGrpc(token.status());
    if (token->ca_sha256 != ca_sha256_) {
      return {grpc::StatusCode::PERMISSION_DENIED, "the enrollment token was issued by another control plane"};
    }
    int64_t now = options_.now_unix_ms();
    std::string zone = ZoneName(registry_.region(), token->site);
    // Issued before the token is consumed: a bad CSR must not burn the token.
    auto cert = Issue(req->csr_pem(), zone, now);
    if (!cert.ok()) return ToGrpc(cert.status());
    auto info = ReadCert(*cert);
    if (!info.ok()) return ToGrpc(info.status());
    auto consumed = registry_.ConsumeToken(*token, info->serial_hex, now);
    if (!consumed.ok()) {
      // One answer for unknown, wrong and used tokens: nothing to learn from it.
      return {grpc::StatusCode::PERMISSION_DENIED, "the enrollment token is not valid (unknown, wrong or already used)"};
    }
    resp->set_zone(*consumed);
    resp->set_certificate_pem(*cert);
    resp->set_ca_pem(options_.ca.cert_pem);
    resp->set_region(registry_.region());
    return grpc::Status::OK;
  }

  grpc::Status Renew(grpc::ServerContext* ctx, const pb::RenewRequest* req, pb::RenewResponse* resp) override {
    auto zone = AuthenticatedZone(ctx);
    if (!zone.ok()) return ToGrpc(zone.status());
    int64_t now = options_.now_unix_ms();
    auto cert = Issue(req->csr_pem(), *zone, now);
    if (!cert.ok()) return ToGrpc(cert.status());
    auto info = ReadCert(*cert);
    if (!info.ok()) return ToGrpc(info.status());
    Status s = registry_.SetCertSerial(*zone, info->serial_hex, now);
    if (!s.ok()) return ToGrpc(s);
    resp->set_certificate_pem(*cert);
    return grpc::Status::OK;
  }

  grpc::Status Connect(grpc::ServerContext* ctx,
                       grpc::ServerReaderWriter<pb::ControlMessage, pb::AgentMessage>* stream) override {
    auto zone = AuthenticatedZone(ctx);
    if (!zone.ok()) return ToGrpc(zone.status());
    pb::AgentMessage first;
    if (!stream->Read(&first) || !first.has_hello()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "a session starts with Hello"};
    }
    if (first.hello().zone() != *zone) {
      return {grpc::StatusCode::PERMISSION_DENIED,
              "the appliance of " + *zone + " cannot speak for " + first.hello().zone()};
    }
    auto session = registry_.MarkConnected(*zone, first.hello().agent_version(), options_.now_unix_ms());
    if (!session.ok()) return ToGrpc(session.status());
    auto status = registry_.GetZone(*zone, options_.now_unix_ms());
    if (!status.ok() || !*status) return ToGrpc(status.ok() ? Status::NotFound(*zone) : status.status());

    std::mutex write_mu;  // a gRPC stream takes one writer at a time
    auto write = [&](const pb::ControlMessage& m) {
      std::lock_guard lock(write_mu);
      return stream->Write(m);
    };
    pb::ControlMessage welcome;
    welcome.mutable_welcome()->set_last_applied_seq((*status)->last_applied_seq);
    welcome.mutable_welcome()->set_server_unix_ms(options_.now_unix_ms());
    if (!write(welcome)) {
      (void)registry_.MarkDisconnected(*zone, "stream closed before Welcome", options_.now_unix_ms(), *session);
      return grpc::Status::OK;
    }

    std::atomic<bool> done{false};
    std::thread pusher([&] { PushCommands(*zone, write, done, ctx); });
    grpc::Status result = ReadLoop(*zone, stream, write);
    done = true;
    pusher.join();
    std::string why = !result.ok()          ? result.error_message()
                      : ctx->IsCancelled() ? "connection lost or cancelled by the appliance"
                                           : "closed by the appliance";
    (void)registry_.MarkDisconnected(*zone, why, options_.now_unix_ms(), *session);
    return result;
  }

 private:
  // Valid from five minutes ago (appliance clocks drift) for the configured
  // lifetime from now.
  Result<std::string> Issue(const std::string& csr_pem, const std::string& zone, int64_t now_unix_ms) {
    constexpr std::chrono::seconds kSkew{300};
    return SignClientCsr(options_.ca, csr_pem, zone, now_unix_ms / 1000 - kSkew.count(),
                         options_.client_cert_validity + kSkew);
  }

  // The zone of a caller with a verified client certificate that is still the
  // zone's current one (a re-enrolled appliance's old certificate is dead).
  Result<std::string> AuthenticatedZone(const grpc::ServerContext* ctx) {
    std::string pem = PeerCertPem(ctx);
    if (pem.empty()) return Status::Unauthenticated("this call needs the appliance's client certificate");
    ANNEX_ASSIGN_OR_RETURN(CertInfo info, ReadCert(pem));
    ANNEX_ASSIGN_OR_RETURN(auto status, registry_.GetZone(info.common_name, options_.now_unix_ms()));
    if (!status) return Status::PermissionDenied("unknown zone " + info.common_name);
    if (status->cert_serial != info.serial_hex) {
      return Status::PermissionDenied("this certificate of " + info.common_name + " has been replaced");
    }
    return info.common_name;
  }

  template <typename Write>
  grpc::Status ReadLoop(const std::string& zone, grpc::ServerReaderWriter<pb::ControlMessage, pb::AgentMessage>* stream,
                        Write& write) {
    pb::AgentMessage msg;
    while (stream->Read(&msg)) {
      int64_t now = options_.now_unix_ms();
      if (msg.has_heartbeat()) {
        const auto& c = msg.heartbeat().capacity();
        ZoneCapacity capacity{c.cpus(), c.memory_bytes(), c.disk_bytes(), c.disk_free_bytes(),
                              {c.services().begin(), c.services().end()}, {}};
        for (const auto& spec : c.commands()) {
          capacity.commands.push_back({spec.kind(), spec.service(), spec.args_schema_json()});
        }
        Status s = registry_.RecordHeartbeat(zone, capacity, now);
        if (!s.ok()) return ToGrpc(s);
      } else if (msg.has_record()) {
        const pb::Record& r = msg.record();
        Status applied = ApplyRecord(zone, r, now);
        // A gap means records were lost in between: the agent reconnects and
        // resends from Welcome's last applied sequence number.
        if (!applied.ok()) return ToGrpc(applied);
        pb::ControlMessage ack;
        ack.mutable_ack()->set_seq(r.seq());
        if (!write(ack)) break;
      } else if (msg.has_command_result()) {
        const auto& cr = msg.command_result();
        Status s = registry_.FinishCommand(cr.command_id(), cr.ok(), cr.message(), now, zone);
        if (!s.ok() && s.code() != StatusCode::kNotFound) return ToGrpc(s);
      } else if (msg.has_hello()) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "Hello twice in one session"};
      }
    }
    return grpc::Status::OK;
  }

  // Applies (or skips, as a resend) one outbox record by its kind. A payload
  // that does not parse, or a kind not known here, is InvalidArgument.
  Status ApplyRecord(const std::string& zone, const pb::Record& r, int64_t now) {
    if (r.kind() == "resource") {
      pb::ResourceRecord rr;
      if (!rr.ParseFromString(r.payload())) return Status::InvalidArgument("bad resource record");
      ResourceState state{rr.type(), rr.id(), rr.state_json(), rr.version(), now, rr.deleted()};
      return registry_.ApplyResourceRecord(zone, r.seq(), state, now).status();
    }
    if (r.kind() == "usage") {
      pb::UsageRecord ur;
      if (!ur.ParseFromString(r.payload())) return Status::InvalidArgument("bad usage record");
      return registry_.ApplyUsageRecord(zone, r.seq(), FromProto(ur)).status();
    }
    if (r.kind() == "event") {
      pb::EventRecord er;
      if (!er.ParseFromString(r.payload())) return Status::InvalidArgument("bad event record");
      ApplianceEvent event{r.seq(), er.unix_ms(), er.severity(), er.kind(), er.message()};
      return registry_.ApplyEventRecord(zone, r.seq(), event).status();
    }
    return Status::InvalidArgument("record kind " + r.kind() + " is not known");
  }

  // Pushes the zone's pending commands: at start, whenever this process
  // creates a command, and every kCommandRecheckPolls polls (commands
  // written by another process on the same registry are not signalled).
  template <typename Write>
  void PushCommands(const std::string& zone, Write& write, std::atomic<bool>& done, grpc::ServerContext* ctx) {
    constexpr int kCommandRecheckPolls = 10;
    std::set<std::string> sent;
    uint64_t seen = registry_.WaitForCommands(0, std::chrono::milliseconds(0));
    int polls_since_read = 0;
    bool read = true;
    while (!done && !ctx->IsCancelled()) {
      if (read) {
        polls_since_read = 0;
        auto pending = registry_.PendingCommands(zone);
        for (const Command& c : pending.ok() ? *pending : std::vector<Command>{}) {
          if (sent.count(c.id)) continue;
          pb::ControlMessage m;
          m.mutable_command()->set_command_id(c.id);
          m.mutable_command()->set_kind(c.kind);
          m.mutable_command()->set_args_json(c.args_json);
          if (!write(m)) return;
          sent.insert(c.id);
          (void)registry_.MarkDelivered(c.id, options_.now_unix_ms(), zone);
        }
      }
      uint64_t now_seen = registry_.WaitForCommands(seen, options_.command_poll);
      read = now_seen != seen || ++polls_since_read >= kCommandRecheckPolls;
      seen = now_seen;
    }
  }

  Registry& registry_;
  SyncServiceOptions options_;
  std::string ca_sha256_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeSyncService(Registry& registry, SyncServiceOptions options) {
  return std::make_unique<SyncServiceImpl>(registry, std::move(options));
}

}  // namespace annex::sync
