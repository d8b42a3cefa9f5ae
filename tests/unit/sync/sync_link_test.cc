// The Sync gRPC link end to end in one process: a real TLS server with the
// control plane's service and registry, and clients that enroll and hold a
// session the way the agent does.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sync/proto/sync.grpc.pb.h"
#include "tests/unit/sync/test_control_plane.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::sync {
namespace {

namespace pb = annex::sync::v1;
using namespace std::chrono_literals;

using testing::NowMs;

class SyncLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = std::make_unique<testing::TestControlPlane>(tmp_.path());
    ASSERT_TRUE(cp_->Start());
    registry_ = &cp_->registry();
    ca_ = cp_->ca();
    address_ = cp_->address();
  }

  std::string NewToken(const std::string& site) { return cp_->NewToken(site); }

  // A session stub authenticated with `key`/`cert` (mutual TLS).
  std::unique_ptr<pb::Sync::Stub> Stub(const std::string& key, const std::string& cert) {
    grpc::SslCredentialsOptions ssl{ca_.cert_pem, key, cert};
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(std::string(kControlPlaneServerName));
    return pb::Sync::NewStub(grpc::CreateCustomChannel(address_, grpc::SslCredentials(ssl), args));
  }

  static pb::AgentMessage Hello(const std::string& zone) {
    pb::AgentMessage m;
    m.mutable_hello()->set_zone(zone);
    m.mutable_hello()->set_agent_version("test");
    return m;
  }

  static pb::AgentMessage ResourceMsg(uint64_t seq, const std::string& bucket, uint64_t version) {
    pb::ResourceRecord rr;
    rr.set_type("bucket");
    rr.set_id(bucket);
    rr.set_state_json("{\"name\":\"" + bucket + "\"}");
    rr.set_version(version);
    pb::AgentMessage m;
    m.mutable_record()->set_seq(seq);
    m.mutable_record()->set_kind("resource");
    m.mutable_record()->set_payload(rr.SerializeAsString());
    return m;
  }

  annex::testing::TempDir tmp_;
  std::unique_ptr<testing::TestControlPlane> cp_;
  Registry* registry_ = nullptr;
  KeyAndCert ca_;
  std::string address_;
};

TEST_F(SyncLinkTest, EnrollsOnceAndGetsACertificateForItsZone) {
  std::string token = NewToken("lisbon-1");
  auto e = Enroll(address_, token, "test");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->zone, "us-east-1-annex-lisbon-1");
  EXPECT_EQ(e->region, "us-east-1");
  EXPECT_TRUE(VerifyIssuedBy(e->cert_pem, ca_.cert_pem, NowMs() / 1000).ok());
  EXPECT_EQ(ReadCert(e->cert_pem)->common_name, e->zone);

  auto again = Enroll(address_, token, "test");  // one-time
  EXPECT_EQ(again.status().code(), StatusCode::kPermissionDenied) << again.status().message();
}

TEST_F(SyncLinkTest, RefusesForgedTokensAndImpostorControlPlanes) {
  std::string token = NewToken("porto");
  auto parsed = *ParseToken(token);
  parsed.secret[0] = parsed.secret[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Enroll(address_, EncodeToken(parsed), "test").status().code(), StatusCode::kPermissionDenied);
  // A token pinning another CA: this server is not that control plane.
  auto other_ca = CreateCa("someone else");
  parsed = *ParseToken(token);
  parsed.ca_sha256 = *CertSha256(other_ca->cert_pem);
  EXPECT_EQ(Enroll(address_, EncodeToken(parsed), "test").status().code(), StatusCode::kPermissionDenied);
  // Neither attempt used the real token up.
  EXPECT_TRUE(Enroll(address_, token, "test").ok());
}

TEST_F(SyncLinkTest, SessionAppliesRecordsOnceAndInOrder) {
  auto e = *Enroll(address_, NewToken("lisbon-1"), "test");
  auto stub = Stub(e.key_pem, e.cert_pem);
  grpc::ClientContext ctx;
  auto stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(Hello(e.zone)));
  pb::ControlMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_welcome());
  EXPECT_EQ(msg.welcome().last_applied_seq(), 0u);

  pb::AgentMessage hb;
  hb.mutable_heartbeat()->mutable_capacity()->set_cpus(2);
  hb.mutable_heartbeat()->mutable_capacity()->add_services("s3");
  ASSERT_TRUE(stream->Write(hb));
  for (uint64_t seq : {1, 2, 1, 2}) {  // the last two: replayed after a reconnect
    ASSERT_TRUE(stream->Write(ResourceMsg(seq, "bucket-" + std::to_string(seq), seq == 1 ? 5 : 1)));
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_ack());
    EXPECT_EQ(msg.ack().seq(), seq);
  }
  auto zone = *registry_->GetZone(e.zone, NowMs());
  ASSERT_TRUE(zone.has_value());
  EXPECT_EQ(zone->state, ZoneState::kAvailable);
  EXPECT_EQ(zone->capacity.cpus, 2u);
  EXPECT_EQ(zone->last_applied_seq, 2u);
  auto resources = *registry_->ListResources(e.zone);
  ASSERT_EQ(resources.size(), 2u);
  EXPECT_EQ(resources[0].id, "bucket-1");
  EXPECT_EQ(resources[0].version, 5u);

  // A gap (record 3 never arrived) ends the session; the agent resends from Welcome.
  ASSERT_TRUE(stream->Write(ResourceMsg(4, "bucket-4", 1)));
  EXPECT_FALSE(stream->Read(&msg));
  stream->WritesDone();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  grpc::ClientContext ctx2;
  auto again = stub->Connect(&ctx2);
  ASSERT_TRUE(again->Write(Hello(e.zone)));
  ASSERT_TRUE(again->Read(&msg));
  EXPECT_EQ(msg.welcome().last_applied_seq(), 2u);
  again->WritesDone();
  again->Finish();
}

TEST_F(SyncLinkTest, SessionAppliesUsageAndEventRecordsAndRefusesUnknownKinds) {
  auto e = *Enroll(address_, NewToken("lisbon-1"), "test");
  auto stub = Stub(e.key_pem, e.cert_pem);
  grpc::ClientContext ctx;
  auto stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(Hello(e.zone)));
  pb::ControlMessage msg;
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_welcome());

  pb::UsageRecord usage;
  usage.set_period_start_unix_ms(1000);
  usage.set_period_end_unix_ms(61'000);
  usage.set_requests(5);
  usage.set_bytes_in(300);
  usage.set_bytes_out(7);
  usage.set_bytes_stored(1 << 20);
  usage.set_objects_stored(4);
  pb::ServiceUsage* s3 = usage.add_services();
  s3->set_service("s3");
  s3->set_requests(5);
  pb::EventRecord event;
  event.set_unix_ms(2000);
  event.set_severity("warning");
  event.set_kind("disk-low");
  event.set_message("7 % free");
  auto record = [](uint64_t seq, const std::string& kind, const std::string& payload) {
    pb::AgentMessage m;
    m.mutable_record()->set_seq(seq);
    m.mutable_record()->set_kind(kind);
    m.mutable_record()->set_payload(payload);
    return m;
  };
  for (const auto& m : {record(1, "usage", usage.SerializeAsString()), record(2, "event", event.SerializeAsString())}) {
    ASSERT_TRUE(stream->Write(m));
    ASSERT_TRUE(stream->Read(&msg));
    ASSERT_TRUE(msg.has_ack());
    EXPECT_EQ(msg.ack().seq(), m.record().seq());
  }
  auto rows = *registry_->ListUsage(e.zone, 0, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].period.end_unix_ms, 61'000);
  EXPECT_EQ(rows[0].period.total.bytes_in, 300u);
  EXPECT_EQ(rows[0].period.objects_stored, 4u);
  EXPECT_EQ(rows[0].period.by_service.at("s3").requests, 5u);
  auto events = *registry_->ListApplianceEvents(e.zone, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "disk-low");
  EXPECT_EQ(events[0].message, "7 % free");
  EXPECT_EQ(events[0].seq, 2u);

  // A kind this control plane does not know ends the session, unapplied.
  ASSERT_TRUE(stream->Write(record(3, "telemetry", "")));
  EXPECT_FALSE(stream->Read(&msg));
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("telemetry"), std::string::npos) << status.error_message();
  EXPECT_EQ(registry_->GetZone(e.zone, NowMs()).value()->last_applied_seq, 2u);
}

TEST_F(SyncLinkTest, AnApplianceCannotSpeakForAnotherZone) {
  auto a = *Enroll(address_, NewToken("site-a"), "test");
  auto b = *Enroll(address_, NewToken("site-b"), "test");
  auto stub = Stub(a.key_pem, a.cert_pem);
  grpc::ClientContext ctx;
  auto stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(Hello(b.zone)));
  pb::ControlMessage msg;
  EXPECT_FALSE(stream->Read(&msg));
  stream->WritesDone();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(registry_->ListResources(b.zone)->empty());
}

TEST_F(SyncLinkTest, SessionsNeedACertificateFromThisControlPlane) {
  auto a = *Enroll(address_, NewToken("site-a"), "test");
  // No client certificate at all.
  grpc::SslCredentialsOptions anonymous{ca_.cert_pem, "", ""};
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(std::string(kControlPlaneServerName));
  auto stub = pb::Sync::NewStub(grpc::CreateCustomChannel(address_, grpc::SslCredentials(anonymous), args));
  grpc::ClientContext ctx;
  auto stream = stub->Connect(&ctx);
  stream->Write(Hello(a.zone));
  pb::ControlMessage msg;
  EXPECT_FALSE(stream->Read(&msg));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // A certificate for the same zone name from another CA: the handshake fails.
  auto rogue_ca = *CreateCa("rogue");
  std::string key = *GenerateKey();
  std::string cert = *SignClientCsr(rogue_ca, *MakeCsr(key, "x"), a.zone, NowMs() / 1000 - 60, std::chrono::hours(1));
  grpc::ClientContext ctx2;
  auto rogue = Stub(key, cert)->Connect(&ctx2);
  rogue->Write(Hello(a.zone));
  EXPECT_FALSE(rogue->Read(&msg));
  EXPECT_NE(rogue->Finish().error_code(), grpc::StatusCode::OK);
}

TEST_F(SyncLinkTest, CommandsAreDeliveredAndTheirResultsRecorded) {
  auto e = *Enroll(address_, NewToken("lisbon-1"), "test");
  auto command = registry_->CreateCommand(e.zone, "CreateBucket", "{\"bucket\":\"from-control\"}", NowMs());
  ASSERT_TRUE(command.ok());
  auto stub = Stub(e.key_pem, e.cert_pem);
  grpc::ClientContext ctx;
  auto stream = stub->Connect(&ctx);
  ASSERT_TRUE(stream->Write(Hello(e.zone)));
  pb::ControlMessage msg;
  ASSERT_TRUE(stream->Read(&msg));  // Welcome
  ASSERT_TRUE(stream->Read(&msg));
  ASSERT_TRUE(msg.has_command());
  EXPECT_EQ(msg.command().command_id(), command->id);
  EXPECT_EQ(msg.command().kind(), "CreateBucket");
  pb::AgentMessage result;
  result.mutable_command_result()->set_command_id(command->id);
  result.mutable_command_result()->set_ok(true);
  result.mutable_command_result()->set_message("created");
  ASSERT_TRUE(stream->Write(result));
  stream->WritesDone();
  pb::ControlMessage rest;
  while (stream->Read(&rest)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  auto commands = *registry_->ListCommands(e.zone);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].state, "succeeded");
  EXPECT_EQ(commands[0].result, "created");
  EXPECT_TRUE(registry_->PendingCommands(e.zone)->empty());
}

// A server that accepts the connection but never answers the TLS handshake
// (a wedged process, a middlebox): enrollment gives up instead of hanging,
// so the agent can be stopped and re-enrolled.
TEST_F(SyncLinkTest, EnrollmentGivesUpOnAServerThatNeverAnswers) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);  // the kernel completes the TCP handshake; nobody reads
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string silent = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto started = std::chrono::steady_clock::now();
  auto e = Enroll(silent, NewToken("lisbon-1"), "test");
  auto took = std::chrono::steady_clock::now() - started;
  ::close(listener);
  EXPECT_EQ(e.status().code(), StatusCode::kUnavailable) << e.status().message();
  EXPECT_LT(took, 15s);
}

}  // namespace
}  // namespace annex::sync
