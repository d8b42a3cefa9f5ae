// The agent against a real (in-process) control plane: enrollment, inventory
// deltas, offline changes delivered exactly once after a control-plane
// restart, usage and event records made offline, commands, an agent restart
// that keeps its identity, certificate renewal, an expired certificate, and
// re-enrollment.

#include "sync/agent/agent.h"

#include <gtest/gtest.h>

#include <condition_variable>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "appliance/os/file_system.h"
#include "sync/agent/identity.h"
#include "sync/agent/usage_meter.h"
#include "tests/unit/sync/test_control_plane.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::sync {
namespace {

using namespace std::chrono_literals;
using testing::NowMs;

// Waits up to 20 s for `cond`.
template <typename Cond>
bool Eventually(Cond cond) {
  for (int i = 0; i < 400; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp_ = std::make_unique<testing::TestControlPlane>(tmp_.path());
    ASSERT_TRUE(cp_->Start());
  }

  AgentOptions Options(const std::string& token) {
    AgentOptions o;
    o.state_dir = tmp_.path() + "/appliance/sync";
    o.control_plane = cp_->address();
    o.enrollment_token = token;
    o.agent_version = "test";
    o.heartbeat = 100ms;
    o.backoff = BackoffPolicy{50ms, 1.6, 500ms, 0.2};
    o.resources.push_back({"s3", [this](uint64_t cursor, size_t max) { return ReadFeed(cursor, max); }});
    o.execute = [this](const std::string& kind, const std::string& args) -> Result<std::string> {
      std::lock_guard lock(mu_);
      executed_.push_back(kind + " " + args);
      return std::string("done");
    };
    o.capacity = [] {
      return AgentCapacity{2, 1 << 30, 10ull << 30, 5ull << 30, {"s3"}, {{"CreateBucket", "s3", "{}"}}};
    };
    o.now_unix_ms = [this] { return NowMs() + clock_skew_ms_.load(); };
    return o;
  }

  // A re-enrollment as annexd's SyncLink does it: a new agent on the same state, told to use the token.
  Result<std::unique_ptr<Agent>> Reenroll(const std::string& token) {
    AgentOptions o = Options(token);
    o.replace_identity = true;
    return Agent::Start(std::move(o));
  }

  // `annex-control sites token SITE` for an enrolled site.
  std::string ReissuedToken(const std::string& site) {
    auto token = cp_->registry().ReissueToken(site, CertSha256(cp_->ca().cert_pem).value(), NowMs());
    EXPECT_TRUE(token.ok()) << token.status().message();
    return EncodeToken(*token);
  }

  std::vector<UsageEntry> UsageRows(const std::string& zone) {
    auto rows = cp_->registry().ListUsage(zone, std::numeric_limits<int64_t>::min(), Registry::kMaxUsagePeriods);
    return rows.ok() ? std::move(*rows) : std::vector<UsageEntry>{};
  }
  std::vector<std::string> EventKinds(const std::string& zone) {
    std::vector<std::string> kinds;
    auto events = cp_->registry().ListApplianceEvents(zone, Registry::kMaxApplianceEvents);
    if (events.ok()) {
      for (const auto& e : *events) kinds.push_back(e.kind);
    }
    return kinds;
  }

  std::string CertSerial(const std::string& zone) {
    return cp_->registry().GetZone(zone, NowMs()).value()->cert_serial;
  }
  uint64_t LastApplied(const std::string& zone) {
    return cp_->registry().GetZone(zone, NowMs()).value()->last_applied_seq;
  }
  Identity StoredIdentity() { return LoadIdentity(tmp_.path() + "/appliance/sync").value().value(); }

  // The buckets as a service's change feed (appliance/service/resource_feed.h
  // keeps the real one in LMDB; its own tests cover it): each change moves
  // the bucket to the feed's head with its next version.
  void SetBucket(const std::string& name, const std::string& state) {
    std::lock_guard lock(mu_);
    Touch(name, state, false);
  }
  void RemoveBucket(const std::string& name) {
    std::lock_guard lock(mu_);
    if (buckets_.count(name)) Touch(name, "", true);
  }
  void Touch(const std::string& name, const std::string& state, bool deleted) {
    FeedBucket& b = buckets_[name];
    b.seq = ++feed_head_;
    ++b.version;
    b.state = state;
    b.deleted = deleted;
  }
  Result<ResourcePage> ReadFeed(uint64_t cursor, size_t max) {
    std::lock_guard lock(mu_);
    std::map<uint64_t, std::string> by_seq;
    for (const auto& [name, b] : buckets_) {
      if (b.seq > cursor) by_seq[b.seq] = name;
    }
    ResourcePage page;
    page.cursor = cursor;
    for (const auto& [seq, name] : by_seq) {
      if (page.changes.size() == max) {
        page.more = true;
        break;
      }
      page.cursor = seq;
      const FeedBucket& b = buckets_[name];
      if (cursor == 0 && b.deleted) continue;
      page.changes.push_back({"bucket", name, b.state, b.version, b.deleted});
    }
    ++feed_reads_;
    return page;
  }
  std::map<std::string, ResourceState> Reported(const std::string& zone) {
    std::map<std::string, ResourceState> out;
    auto resources = cp_->registry().ListResources(zone);
    if (resources.ok()) {
      for (auto& r : *resources) out[r.id] = r;
    }
    return out;
  }

  annex::testing::TempDir tmp_;
  std::unique_ptr<testing::TestControlPlane> cp_;
  std::mutex mu_;
  struct FeedBucket {
    uint64_t seq = 0;
    uint64_t version = 0;
    std::string state;
    bool deleted = false;
  };
  std::map<std::string, FeedBucket> buckets_;
  uint64_t feed_head_ = 0;
  uint64_t feed_reads_ = 0;
  std::vector<std::string> executed_;
  std::atomic<int64_t> clock_skew_ms_{0};  // the appliance's clock, ahead of the control plane's by this much
};

TEST_F(AgentTest, EnrollsReportsAndStaysInSyncAcrossAControlPlaneRestart) {
  SetBucket("alpha", "{\"acl\":\"private\"}");
  auto agent = Agent::Start(Options(cp_->NewToken("lisbon-1")));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  const std::string zone = "us-east-1-annex-lisbon-1";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }))
      << (*agent)->status().last_error;
  EXPECT_EQ((*agent)->status().zone, zone);
  ASSERT_TRUE(Eventually([&] { return Reported(zone).count("alpha"); }));
  auto z = cp_->registry().GetZone(zone, NowMs()).value();
  EXPECT_EQ(z->state, ZoneState::kAvailable);
  EXPECT_EQ(z->capacity.cpus, 2u);
  ASSERT_EQ(z->capacity.commands.size(), 1u);
  EXPECT_EQ(z->capacity.commands[0].kind, "CreateBucket");  // what the zone accepts, advertised

  // The link goes down; the appliance keeps changing things.
  cp_->Stop();
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms == 0; }));
  SetBucket("beta", "{}");
  SetBucket("alpha", "{\"acl\":\"public-read\"}");
  RemoveBucket("alpha");
  SetBucket("gamma", "{}");
  ASSERT_TRUE((*agent)->SyncResources().ok());
  EXPECT_GT((*agent)->status().outbox_depth, 0u);

  ASSERT_TRUE(cp_->Start());
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; })) << (*agent)->status().last_error;
  auto reported = Reported(zone);
  EXPECT_EQ(reported.count("alpha"), 0u);  // deleted while offline
  EXPECT_EQ(reported.count("beta"), 1u);
  EXPECT_EQ(reported.count("gamma"), 1u);
  // Exactly once: the control plane applied every record the agent wrote, no more.
  EXPECT_EQ(cp_->registry().GetZone(zone, NowMs()).value()->last_applied_seq, (*agent)->status().last_sequence);
}

TEST_F(AgentTest, ExecutesCommandsOnceAndReportsTheirResults) {
  auto agent = Agent::Start(Options(cp_->NewToken("porto")));
  ASSERT_TRUE(agent.ok());
  const std::string zone = "us-east-1-annex-porto";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  auto command = cp_->registry().CreateCommand(zone, "CreateBucket", "{\"bucket\":\"logs\"}", NowMs());
  ASSERT_TRUE(command.ok());
  ASSERT_TRUE(Eventually([&] { return cp_->registry().GetCommand(command->id).value()->state == "succeeded"; }));
  EXPECT_EQ(cp_->registry().GetCommand(command->id).value()->result, "done");
  std::this_thread::sleep_for(300ms);
  std::lock_guard lock(mu_);
  ASSERT_EQ(executed_.size(), 1u);
  EXPECT_EQ(executed_[0], "CreateBucket {\"bucket\":\"logs\"}");
}

// A slow command runs off the session's reader: records keep being sent and
// acknowledged while it runs, and its result arrives when it is done.
TEST_F(AgentTest, ASlowCommandDoesNotHoldUpAcknowledgements) {
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;
  AgentOptions o = Options(cp_->NewToken("faro"));
  o.execute = [&](const std::string& kind, const std::string&) -> Result<std::string> {
    std::unique_lock lock(gate_mu);
    gate_cv.wait(lock, [&] { return open; });
    return kind + " finished";
  };
  auto agent = Agent::Start(std::move(o));
  ASSERT_TRUE(agent.ok());
  const std::string zone = "us-east-1-annex-faro";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  auto command = cp_->registry().CreateCommand(zone, "CreateDatabase", "{}", NowMs());
  ASSERT_TRUE(command.ok());
  ASSERT_TRUE(Eventually([&] { return cp_->registry().GetCommand(command->id).value()->state == "delivered"; }));
  SetBucket("while-it-runs", "{}");
  ASSERT_TRUE((*agent)->SyncResources().ok());
  EXPECT_TRUE(Eventually([&] { return Reported(zone).count("while-it-runs") == 1; }));
  EXPECT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; })) << "acknowledged meanwhile";
  EXPECT_EQ(cp_->registry().GetCommand(command->id).value()->state, "delivered");
  {
    std::lock_guard lock(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(Eventually([&] { return cp_->registry().GetCommand(command->id).value()->state == "succeeded"; }));
  EXPECT_EQ(cp_->registry().GetCommand(command->id).value()->result, "CreateDatabase finished");
}

TEST_F(AgentTest, ARestartedAgentKeepsItsIdentityAndSequence) {
  SetBucket("one", "{}");
  std::string token = cp_->NewToken("braga");
  uint64_t sent = 0;
  {
    auto agent = Agent::Start(Options(token));
    ASSERT_TRUE(agent.ok());
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().last_acknowledged >= 1; }));
    sent = (*agent)->status().last_sequence;
  }
  SetBucket("two", "{}");
  // The token is spent; the stored identity is what reconnects.
  auto again = Agent::Start(Options(token));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(Eventually([&] { return Reported("us-east-1-annex-braga").count("two"); }));
  EXPECT_EQ((*again)->status().last_sequence, sent + 2);  // numbering goes on: agent-started, then "two"
  EXPECT_TRUE((*again)->status().enrolled);
}

// Reports follow the feed: a quiet appliance records nothing, however many
// resources it holds, and a burst larger than one page arrives whole.
TEST_F(AgentTest, ReportsOnlyWhatChangedAndPagesThroughBursts) {
  for (int i = 0; i < 600; ++i) SetBucket("b" + std::to_string(i), "{}");
  auto agent = Agent::Start(Options(cp_->NewToken("tomar")));
  ASSERT_TRUE(agent.ok());
  const std::string zone = "us-east-1-annex-tomar";
  ASSERT_TRUE(Eventually([&] { return Reported(zone).size() == 600; })) << (*agent)->status().last_error;
  uint64_t sent = (*agent)->status().last_sequence;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*agent)->SyncResources().ok());
  EXPECT_EQ((*agent)->status().last_sequence, sent) << "nothing changed, nothing recorded";
  SetBucket("b7", "{\"acl\":\"public-read\"}");
  RemoveBucket("b8");
  ASSERT_TRUE((*agent)->SyncResources().ok());
  EXPECT_EQ((*agent)->status().last_sequence, sent + 2);
  ASSERT_TRUE(Eventually([&] { return Reported(zone).count("b8") == 0; }));
  EXPECT_EQ(Reported(zone)["b7"].state_json, "{\"acl\":\"public-read\"}");
  EXPECT_EQ(Reported(zone)["b7"].version, 2u);
}

// An appliance upgraded from the release that kept reported.json: what it
// deleted since goes out as deleted, and versions go on above those sent.
TEST_F(AgentTest, TakesOverFromAReportedFile) {
  const std::string zone = "us-east-1-annex-leiria";
  const std::string token = cp_->NewToken("leiria");
  SetBucket("kept", "{}");
  // As the old release left it: versions 7 and 9 sent; "gone" deleted since.
  const std::string state = tmp_.path() + "/appliance/sync";
  ASSERT_TRUE(os::PosixFileSystem().CreateDirs(state).ok());
  nlohmann::json reported = {{std::string("bucket\0kept", 11), {{"version", 7}, {"state", "{}"}, {"deleted", false}}},
                             {std::string("bucket\0gone", 11), {{"version", 9}, {"state", "{}"}, {"deleted", false}}}};
  ASSERT_TRUE(os::WriteFileAtomic(os::PosixFileSystem(), state + "/reported.json", reported.dump(), 0600).ok());
  auto agent = Agent::Start(Options(token));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  EXPECT_FALSE(os::PosixFileSystem().Exists(state + "/reported.json"));
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; })) << (*agent)->status().last_error;
  auto now = Reported(zone);
  ASSERT_EQ(now.count("kept"), 1u);
  EXPECT_GT(now["kept"].version, 9u);
  EXPECT_EQ(now.count("gone"), 0u);
  bool gone_reported_deleted = false;
  auto all = cp_->registry().ListResources(zone, /*include_deleted=*/true);
  ASSERT_TRUE(all.ok());
  for (const auto& r : *all) {
    if (r.id == "gone") gone_reported_deleted = r.deleted && r.version > 9;
  }
  EXPECT_TRUE(gone_reported_deleted);
}

// Certificates are renewed at 70-90 % of their life, and the session goes on
// with the new one (the old one is refused from then on).
TEST_F(AgentTest, RenewsItsCertificateBeforeItExpires) {
  cp_->Stop();
  cp_ = std::make_unique<testing::TestControlPlane>(tmp_.path() + "/short", std::chrono::seconds(8));
  ASSERT_TRUE(cp_->Start());
  auto agent = Agent::Start(Options(cp_->NewToken("faro")));
  ASSERT_TRUE(agent.ok());
  const std::string zone = "us-east-1-annex-faro";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  int64_t first_expiry = (*agent)->status().certificate_not_after_unix;
  std::string first_serial = cp_->registry().GetZone(zone, NowMs()).value()->cert_serial;
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().certificate_not_after_unix > first_expiry; }));
  EXPECT_NE(cp_->registry().GetZone(zone, NowMs()).value()->cert_serial, first_serial);
  // Still (or again) connected, past the first certificate's end.
  while (NowMs() / 1000 <= first_expiry) std::this_thread::sleep_for(100ms);
  SetBucket("after-renewal", "{}");
  ASSERT_TRUE(Eventually([&] { return Reported(zone).count("after-renewal"); })) << (*agent)->status().last_error;
}

// An appliance whose certificate expired while offline: re-enrolled with a
// token from `sites token`, it gets a new key and certificate for the same
// zone, and the changes it queued meanwhile arrive exactly once.
TEST_F(AgentTest, ReenrollsWithANewKeyAndKeepsItsOutbox) {
  SetBucket("before", "{}");
  const std::string zone = "us-east-1-annex-evora";
  {
    auto agent = Agent::Start(Options(cp_->NewToken("evora")));
    ASSERT_TRUE(agent.ok()) << agent.status().message();
    ASSERT_TRUE(Eventually([&] { return Reported(zone).count("before"); })) << (*agent)->status().last_error;
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; }));
    cp_->Stop();
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms == 0; }));
    SetBucket("while-away", "{}");
    ASSERT_TRUE((*agent)->SyncResources().ok());
    ASSERT_EQ((*agent)->status().outbox_depth, 1u);
  }
  Identity old_identity = StoredIdentity();
  std::string old_serial = CertSerial(zone);
  ASSERT_TRUE(cp_->Start());

  auto agent = Reenroll(ReissuedToken("evora"));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  EXPECT_TRUE((*agent)->status().enrolling);
  ASSERT_TRUE(Eventually([&] { return !(*agent)->status().enrolling; }));
  EXPECT_EQ((*agent)->status().enrollment_error, "");
  EXPECT_EQ((*agent)->status().zone, zone);
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; })) << (*agent)->status().last_error;

  EXPECT_EQ(Reported(zone).count("while-away"), 1u);
  EXPECT_EQ(Reported(zone)["while-away"].version, 1u);
  EXPECT_EQ(LastApplied(zone), (*agent)->status().last_sequence);  // nothing lost, nothing twice
  EXPECT_NE(CertSerial(zone), old_serial);
  Identity identity = StoredIdentity();
  EXPECT_EQ(identity.zone, zone);
  EXPECT_NE(identity.key_pem, old_identity.key_pem);
  EXPECT_EQ(identity.control_plane, cp_->address());
}

TEST_F(AgentTest, ARefusedReenrollmentKeepsTheIdentityItHad) {
  const std::string zone = "us-east-1-annex-beja";
  std::string token = cp_->NewToken("beja");
  {
    auto agent = Agent::Start(Options(token));
    ASSERT_TRUE(agent.ok());
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  }
  std::string serial = CertSerial(zone);
  auto agent = Reenroll(token);  // already used
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(Eventually([&] { return !(*agent)->status().enrolling; }));
  EXPECT_NE((*agent)->status().enrollment_error.find("the enrollment token is not valid"), std::string::npos)
      << (*agent)->status().enrollment_error;
  // It goes on as the zone it was, with the certificate it had.
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }))
      << (*agent)->status().last_error;
  EXPECT_EQ((*agent)->status().zone, zone);
  EXPECT_EQ(CertSerial(zone), serial);
}

// The certificate expired (the appliance's clock is past not_after): the
// agent does not offer it, keeps recording changes, and tells the operator
// what to run. The control plane would still accept it (its clock is not
// skewed), so an agent that kept trying would connect.
TEST_F(AgentTest, AnExpiredCertificateIsNotOfferedAndSaysHowToReenroll) {
  const std::string zone = "us-east-1-annex-tavira";
  int64_t not_after = 0;
  {
    auto agent = Agent::Start(Options(cp_->NewToken("tavira")));
    ASSERT_TRUE(agent.ok());
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
    // Everything of this run acknowledged, so the outbox below holds only
    // what the expired run records (a slow run could otherwise leave one).
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; }));
    not_after = (*agent)->status().certificate_not_after_unix;
  }
  clock_skew_ms_ = (not_after - NowMs() / 1000 + 3600) * 1000;
  SetBucket("while-expired", "{}");
  auto agent = Agent::Start(Options(""));
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(Eventually([&] { return !(*agent)->status().last_error.empty(); }));
  AgentStatus s = (*agent)->status();
  EXPECT_TRUE(s.certificate_expired);
  EXPECT_NE(s.last_error.find("certificate of zone " + zone + " expired"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("annex-control sites token tavira"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("annexctl sync enroll --control-plane " + cp_->address() + " --token TOKEN --force"),
            std::string::npos)
      << s.last_error;
  std::this_thread::sleep_for(1s);  // many backoff periods
  EXPECT_EQ((*agent)->status().connected_since_unix_ms, 0);
  EXPECT_EQ(Reported(zone).count("while-expired"), 0u);
  // Recorded locally all the same: agent-started, the bucket, certificate-expired (once).
  EXPECT_EQ((*agent)->status().outbox_depth, 3u);

  agent->reset();
  clock_skew_ms_ = 0;  // the new certificate is valid on any clock near the control plane's
  agent = Reenroll(ReissuedToken("tavira"));
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(Eventually([&] { return Reported(zone).count("while-expired"); })) << (*agent)->status().last_error;
  EXPECT_FALSE((*agent)->status().certificate_expired);
  ASSERT_TRUE(Eventually([&] { return LastApplied(zone) == (*agent)->status().last_sequence; }));
  std::vector<std::string> kinds = EventKinds(zone);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "certificate-expired"), 1);
  EXPECT_EQ(kinds.back(), "re-enrolled") << ::testing::PrintToString(kinds);
}

// Enrolling into another zone (another site, or another control plane): that
// zone has applied nothing, so the outbox starts over and the whole
// inventory is reported to it.
TEST_F(AgentTest, ATokenForAnotherZoneStartsTheOutboxOver) {
  SetBucket("kept", "{}");
  {
    auto agent = Agent::Start(Options(cp_->NewToken("site-old")));
    ASSERT_TRUE(agent.ok());
    ASSERT_TRUE(Eventually([&] { return Reported("us-east-1-annex-site-old").count("kept"); }));
    SetBucket("second", "{}");
    ASSERT_TRUE((*agent)->SyncResources().ok());
    ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; }));
  }
  const std::string zone = "us-east-1-annex-site-new";
  auto agent = Reenroll(cp_->NewToken("site-new"));
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(Eventually([&] { return Reported(zone).size() == 2; })) << (*agent)->status().last_error;
  EXPECT_EQ((*agent)->status().zone, zone);
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().outbox_depth == 0; }));
  EXPECT_EQ((*agent)->status().last_sequence, 3u);  // numbered from 1 again: "enrolled" and the two buckets
  EXPECT_EQ(LastApplied(zone), 3u);
  EXPECT_EQ(EventKinds(zone), std::vector<std::string>{"enrolled"});
}

// Proto3 strings must be valid UTF-8: an event message that is not would
// make its record unparsable and stall the link on it. It arrives cleaned
// and cut to the limit instead.
TEST_F(AgentTest, EventMessagesAreMadeSafeToSend) {
  auto agent = Agent::Start(Options(cp_->NewToken("lagos")));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  const std::string zone = "us-east-1-annex-lagos";
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  std::string message = "caf\xc3\xa9 \xff\xfe end" + std::string(2 * kMaxEventMessageBytes, 'x');
  ASSERT_TRUE((*agent)->RecordEvent("warning", "odd-text", message).ok());
  ASSERT_TRUE((*agent)->RecordEvent("info", "after", "").ok());
  ASSERT_TRUE(Eventually([&] { return !EventKinds(zone).empty() && EventKinds(zone).back() == "after"; }))
      << (*agent)->status().last_error << "; events: " << ::testing::PrintToString(EventKinds(zone));
  auto events = cp_->registry().ListApplianceEvents(zone, 10).value();
  const ApplianceEvent& odd = events[events.size() - 2];
  EXPECT_EQ(odd.kind, "odd-text");
  EXPECT_EQ(odd.message.substr(0, 14), "caf\xc3\xa9 ?? endxx");
  EXPECT_EQ(odd.message.size(), kMaxEventMessageBytes);
}

// Usage made while the control plane is down is recorded as it happens and
// arrives after the reconnect, once: the periods follow each other without
// gap or overlap, and their deltas add up to the counters. A restarted agent
// sharing the meter (annexd re-enrolling) goes on where the last one stopped.
TEST_F(AgentTest, UsageAndEventsRecordedOfflineArriveOnce) {
  std::atomic<uint64_t> requests{0}, bytes_in{0}, bytes_out{0};
  auto read = [&] {
    UsageSample s;
    s.by_service["s3"] = {requests.load(), bytes_in.load(), bytes_out.load()};
    s.bytes_stored = 5000;
    s.objects_stored = 2;
    return s;
  };
  const int64_t started = NowMs();
  auto meter = std::make_shared<UsageMeter>(read, started);
  auto options = [&](const std::string& token) {
    AgentOptions o = Options(token);
    o.usage = meter;
    o.usage_interval = 100ms;
    return o;
  };
  const std::string zone = "us-east-1-annex-sines";
  auto agent = Agent::Start(options(cp_->NewToken("sines")));
  ASSERT_TRUE(agent.ok()) << agent.status().message();
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms > 0; }));
  requests += 3;
  bytes_in += 1000;

  cp_->Stop();
  ASSERT_TRUE(Eventually([&] { return (*agent)->status().connected_since_unix_ms == 0; }));
  uint64_t depth_at_disconnect = (*agent)->status().outbox_depth;
  for (int i = 0; i < 5; ++i) {
    requests += 10;
    bytes_in += 4096;
    bytes_out += 100;
    std::this_thread::sleep_for(150ms);
  }
  ASSERT_TRUE((*agent)->RecordEvent("warning", "disk-low", "5 % free").ok());
  EXPECT_EQ((*agent)->RecordEvent("fatal", "disk-low", "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*agent)->RecordEvent("info", "Disk Low", "").code(), StatusCode::kInvalidArgument);
  // Recorded while offline: a usage record per interval, and the event.
  EXPECT_GE((*agent)->status().outbox_depth, depth_at_disconnect + 5);

  auto totals = [&] {
    UsageCounters sum;
    for (const auto& row : UsageRows(zone)) {
      sum.requests += row.period.total.requests;
      sum.bytes_in += row.period.total.bytes_in;
      sum.bytes_out += row.period.total.bytes_out;
    }
    return sum;
  };
  auto adds_up = [&] {
    UsageCounters sum = totals();
    return sum.requests == requests && sum.bytes_in == bytes_in && sum.bytes_out == bytes_out;
  };
  // Consecutive periods, each starting where the previous ended, from the meter's start.
  auto expect_contiguous = [&] {
    std::vector<UsageEntry> rows = UsageRows(zone);
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.front().period.start_unix_ms, started);
    for (size_t i = 1; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].period.start_unix_ms, rows[i - 1].period.end_unix_ms) << "period " << i;
      EXPECT_GT(rows[i].seq, rows[i - 1].seq);
    }
    EXPECT_EQ(rows.back().period.bytes_stored, 5000u);
    EXPECT_EQ(rows.back().period.objects_stored, 2u);
  };
  EXPECT_LE(totals().requests, 3u);  // the control plane has seen nothing made offline

  ASSERT_TRUE(cp_->Start());
  ASSERT_TRUE(Eventually(adds_up)) << totals().requests << " of " << requests;
  ASSERT_TRUE(Eventually([&] { return LastApplied(zone) == (*agent)->status().last_sequence; }));
  expect_contiguous();
  std::vector<std::string> kinds = EventKinds(zone);
  EXPECT_EQ(kinds, (std::vector<std::string>{"agent-started", "enrolled", "disk-low"}));
  auto events = cp_->registry().ListApplianceEvents(zone, 10).value();
  EXPECT_EQ(events.back().severity, "warning");
  EXPECT_EQ(events.back().message, "5 % free");

  // A stopping agent records its last partial period: an agent without a
  // meter delivers it.
  requests += 7;
  bytes_out += 1;
  agent->reset();
  auto without_meter = Agent::Start(Options(""));
  ASSERT_TRUE(without_meter.ok()) << without_meter.status().message();
  ASSERT_TRUE(Eventually(adds_up)) << totals().requests << " of " << requests;
  without_meter->reset();

  // annexd re-enrolling: a new agent shares the meter and goes on where the
  // last period ended.
  requests += 4;
  auto again = Agent::Start(options(""));
  ASSERT_TRUE(again.ok()) << again.status().message();
  ASSERT_TRUE(Eventually(adds_up)) << totals().requests << " of " << requests;
  ASSERT_TRUE(Eventually([&] { return LastApplied(zone) == (*again)->status().last_sequence; }));
  expect_contiguous();
  EXPECT_TRUE(adds_up());
  EXPECT_EQ(EventKinds(zone).back(), "agent-started");
}

}  // namespace
}  // namespace annex::sync
