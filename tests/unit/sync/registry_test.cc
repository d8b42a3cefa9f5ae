#include "sync/controlplane/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <thread>

#include "tests/unit/testing/temp_dir.h"

namespace annex::sync {
namespace {

constexpr std::string_view kCa = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kSecond = 1000;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { reg_ = OpenRegistry(); }

  std::unique_ptr<Registry> OpenRegistry() {
    auto reg = Registry::Open(Dir(), "us-east-1");
    EXPECT_TRUE(reg.ok()) << reg.status().ToString();
    return reg.ok() ? std::move(*reg) : nullptr;
  }
  void Reopen() {
    reg_.reset();
    reg_ = OpenRegistry();
    ASSERT_NE(reg_, nullptr);
  }
  std::string Dir() const { return tmp_.path() + "/registry"; }

  // Creates and enrolls `site`; returns its zone.
  std::string Enroll(std::string_view site, std::string_view serial = "serial-1") {
    auto token = reg_->CreateSite(site, kCa, kT0);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    auto zone = reg_->ConsumeToken(*token, serial, kT0 + kSecond);
    EXPECT_TRUE(zone.ok()) << zone.status().ToString();
    return zone.ok() ? *zone : "";
  }

  static std::vector<std::string> EventNames(const std::vector<ConnectionEvent>& events) {
    std::vector<std::string> names;
    for (const auto& e : events) names.push_back(e.event);
    return names;
  }

  static ResourceState Resource(std::string type, std::string id, uint64_t version, std::string json = "{}") {
    ResourceState r;
    r.type = std::move(type);
    r.id = std::move(id);
    r.version = version;
    r.state_json = std::move(json);
    return r;
  }

  annex::testing::TempDir tmp_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, TokenIsOneTime) {
  auto token = reg_->CreateSite("lisbon-1", kCa, kT0);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->site, "lisbon-1");
  EXPECT_EQ(token->ca_sha256, kCa);

  EnrollmentToken wrong = *token;
  wrong.secret[0] = wrong.secret[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reg_->ConsumeToken(wrong, "s1", kT0).status().code(), StatusCode::kPermissionDenied);
  EnrollmentToken stranger = *token;
  stranger.site = "porto-2";
  EXPECT_EQ(reg_->ConsumeToken(stranger, "s1", kT0).status().code(), StatusCode::kPermissionDenied);
  // A refused attempt does not use the token up.
  auto zone = reg_->ConsumeToken(*token, "s1", kT0 + 5);
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ(*zone, "us-east-1-annex-lisbon-1");
  EXPECT_EQ(reg_->ConsumeToken(*token, "s2", kT0 + 6).status().code(), StatusCode::kPermissionDenied);

  auto status = reg_->GetZone(*zone, kT0 + 10);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((*status)->site, "lisbon-1");
  EXPECT_EQ((*status)->enrolled_unix_ms, kT0 + 5);
  EXPECT_EQ((*status)->cert_serial, "s1");  // the replay did not replace it
  auto history = reg_->History(*zone, 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(EventNames(*history), (std::vector<std::string>{"enrolled", "rejected"}));

  auto sites = reg_->ListSites();
  ASSERT_TRUE(sites.ok());
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_TRUE((*sites)[0].enrolled);
  EXPECT_EQ((*sites)[0].zone, *zone);
  EXPECT_EQ((*sites)[0].created_unix_ms, kT0);
}

TEST_F(RegistryTest, CreateSiteRules) {
  EXPECT_EQ(reg_->CreateSite("Bad_Name", kCa, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->CreateSite("ok", "not-a-hash", kT0).status().code(), StatusCode::kInvalidArgument);
  auto first = reg_->CreateSite("lisbon-1", kCa, kT0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(reg_->CreateSite("lisbon-1", kCa, kT0).status().code(), StatusCode::kAlreadyExists);

  // Not enrolled yet: the operator may replace a lost token; the old one stops working.
  auto second = reg_->CreateSite("lisbon-1", kCa, kT0 + 1, /*replace_token=*/true);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->secret, first->secret);
  EXPECT_EQ(reg_->ConsumeToken(*first, "s", kT0).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(reg_->ConsumeToken(*second, "s", kT0).ok());
  EXPECT_EQ(reg_->ListSites()->at(0).created_unix_ms, kT0);  // replacing keeps the site's creation time

  // Enrolled: CreateSite never replaces; ReissueToken is the way.
  EXPECT_EQ(reg_->CreateSite("lisbon-1", kCa, kT0, true).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, StoredDataHoldsNoSecret) {
  auto used = reg_->CreateSite("lisbon-1", kCa, kT0);
  auto unused = reg_->CreateSite("porto-2", kCa, kT0);
  ASSERT_TRUE(used.ok() && unused.ok());
  ASSERT_TRUE(reg_->ConsumeToken(*used, "serial-1", kT0).ok());
  auto reissued = reg_->ReissueToken("lisbon-1", kCa, kT0 + 1);
  ASSERT_TRUE(reissued.ok());
  reg_.reset();  // everything on disk

  std::ifstream in(Dir() + "/data.mdb", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const EnrollmentToken* t : {&*used, &*unused, &*reissued}) {
    EXPECT_EQ(data.find(t->secret), std::string::npos) << "secret of " << t->site << " is on disk";
    EXPECT_EQ(data.find(EncodeToken(*t)), std::string::npos);
  }
  // The scan does see what is stored: the outstanding tokens' hashes.
  EXPECT_NE(data.find(SecretHash(unused->secret)), std::string::npos);
  EXPECT_NE(data.find(SecretHash(reissued->secret)), std::string::npos);
}

TEST_F(RegistryTest, ReissueLetsAnExpiredApplianceEnrollAgain) {
  EXPECT_EQ(reg_->ReissueToken("nowhere", kCa, kT0).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(reg_->CreateSite("porto-2", kCa, kT0).ok());
  EXPECT_EQ(reg_->ReissueToken("porto-2", kCa, kT0).status().code(), StatusCode::kFailedPrecondition);

  std::string zone = Enroll("lisbon-1", "old-serial");
  ASSERT_TRUE(reg_->ApplyResourceRecord(zone, 1, Resource("bucket", "b", 1), kT0).ok());
  auto old_token = reg_->CreateSite("lisbon-1", kCa, kT0, true);
  EXPECT_EQ(old_token.status().code(), StatusCode::kAlreadyExists);

  auto fresh = reg_->ReissueToken("lisbon-1", kCa, kT0 + 100 * kSecond);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().cert_serial, "old-serial");  // until the appliance comes back
  auto again = reg_->ConsumeToken(*fresh, "new-serial", kT0 + 200 * kSecond);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, zone);
  EXPECT_EQ(reg_->ConsumeToken(*fresh, "third", kT0).status().code(), StatusCode::kPermissionDenied);

  ZoneStatus z = reg_->GetZone(zone, kT0)->value();
  EXPECT_EQ(z.cert_serial, "new-serial");
  EXPECT_EQ(z.enrolled_unix_ms, kT0 + 200 * kSecond);
  EXPECT_EQ(z.last_applied_seq, 1u);  // the appliance's outbox carries on where it was
  EXPECT_EQ(EventNames(*reg_->History(zone, 10)),
            (std::vector<std::string>{"enrolled", "token-reissued", "enrolled", "rejected"}));

  ASSERT_TRUE(reg_->SetCertSerial(zone, "rotated", kT0 + 300 * kSecond).ok());
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().cert_serial, "rotated");
  EXPECT_EQ(reg_->SetCertSerial("us-east-1-annex-nowhere", "x").code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, ZoneStateFollowsSilenceSinceLastHeartbeat) {
  std::string zone = Enroll("lisbon-1");
  auto before = reg_->GetZone(zone, kT0 + 2 * kSecond);
  ASSERT_TRUE(before.ok() && before->has_value());
  EXPECT_EQ((*before)->state, ZoneState::kUnavailable);  // never heard from
  EXPECT_EQ((*before)->last_heartbeat_unix_ms, 0);

  ZoneCapacity capacity{16, 64ull << 30, 4ull << 40, 3ull << 40, {"s3", "ec2"}, {}};
  const int64_t beat = kT0 + 10 * kSecond;
  ASSERT_TRUE(reg_->RecordHeartbeat(zone, capacity, beat).ok());
  EXPECT_EQ(reg_->GetZone(zone, beat)->value().state, ZoneState::kAvailable);
  EXPECT_EQ(reg_->GetZone(zone, beat + 60 * kSecond)->value().state, ZoneState::kImpaired);
  EXPECT_EQ(reg_->GetZone(zone, beat + 16 * 60 * kSecond)->value().state, ZoneState::kUnavailable);
  EXPECT_EQ(reg_->GetZone(zone, beat - kSecond)->value().state, ZoneState::kAvailable);  // skewed caller clock

  // A late heartbeat never moves the clock back.
  ASSERT_TRUE(reg_->RecordHeartbeat(zone, capacity, beat - 5 * kSecond).ok());
  ZoneStatus z = reg_->GetZone(zone, beat)->value();
  EXPECT_EQ(z.last_heartbeat_unix_ms, beat);
  EXPECT_EQ(z.capacity.cpus, 16u);
  EXPECT_EQ(z.capacity.memory_bytes, 64ull << 30);
  EXPECT_EQ(z.capacity.disk_bytes, 4ull << 40);
  EXPECT_EQ(z.capacity.disk_free_bytes, 3ull << 40);
  EXPECT_EQ(z.capacity.services, (std::vector<std::string>{"s3", "ec2"}));

  auto zones = reg_->ListZones(beat + 60 * kSecond);
  ASSERT_TRUE(zones.ok());
  ASSERT_EQ(zones->size(), 1u);
  EXPECT_EQ((*zones)[0].state, ZoneState::kImpaired);
  EXPECT_FALSE(reg_->GetZone("us-east-1-annex-nowhere", beat)->has_value());
  EXPECT_EQ(reg_->RecordHeartbeat("us-east-1-annex-nowhere", capacity, beat).code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, ConnectionsAndDisconnectionsAreRecorded) {
  std::string zone = Enroll("lisbon-1");
  EXPECT_EQ(reg_->MarkConnected("us-east-1-annex-nowhere", "1.0", kT0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->MarkDisconnected("us-east-1-annex-nowhere", "x", kT0).code(), StatusCode::kNotFound);

  auto s1 = reg_->MarkConnected(zone, "1.0.0", kT0 + 10 * kSecond);
  ASSERT_TRUE(s1.ok());
  ZoneStatus z = reg_->GetZone(zone, kT0)->value();
  EXPECT_EQ(z.connected_since_unix_ms, kT0 + 10 * kSecond);
  EXPECT_EQ(z.agent_version, "1.0.0");
  ASSERT_TRUE(reg_->MarkDisconnected(zone, "stream reset", kT0 + 20 * kSecond, *s1).ok());
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().connected_since_unix_ms, 0);

  // The appliance reconnects before its old stream is torn down: the old
  // session's late disconnect must leave the new one connected.
  auto s2 = reg_->MarkConnected(zone, "1.1.0", kT0 + 30 * kSecond);
  auto s3 = reg_->MarkConnected(zone, "1.1.0", kT0 + 31 * kSecond);
  ASSERT_TRUE(s2.ok() && s3.ok());
  EXPECT_NE(*s2, *s3);
  ASSERT_TRUE(reg_->MarkDisconnected(zone, "old stream closed", kT0 + 32 * kSecond, *s2).ok());
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().connected_since_unix_ms, kT0 + 31 * kSecond);
  ASSERT_TRUE(reg_->MarkDisconnected(zone, "shutdown", kT0 + 40 * kSecond).ok());
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().connected_since_unix_ms, 0);

  auto all = reg_->History(zone, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(EventNames(*all), (std::vector<std::string>{"enrolled", "connected", "disconnected", "connected",
                                                        "connected", "disconnected", "disconnected"}));
  EXPECT_EQ((*all)[2].unix_ms, kT0 + 20 * kSecond);
  EXPECT_NE((*all)[2].detail.find("stream reset"), std::string::npos);
  EXPECT_NE((*all)[5].detail.find("superseded"), std::string::npos);

  auto last_two = reg_->History(zone, 2);  // the newest, newest last
  ASSERT_TRUE(last_two.ok());
  ASSERT_EQ(last_two->size(), 2u);
  EXPECT_EQ((*last_two)[1].unix_ms, kT0 + 40 * kSecond);
  EXPECT_EQ((*last_two)[0].unix_ms, kT0 + 32 * kSecond);
  EXPECT_EQ(reg_->History("us-east-1-annex-nowhere", 5).status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, HistoryKeepsAWindowOfTheNewestEvents) {
  std::string zone = Enroll("lisbon-1");  // event 1
  for (uint64_t i = 1; i <= Registry::kMaxHistory + 4; ++i) {
    ASSERT_TRUE(reg_->MarkConnected(zone, "v", kT0 + static_cast<int64_t>(i)).ok());
  }
  auto all = reg_->History(zone, 10 * Registry::kMaxHistory);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), Registry::kMaxHistory);
  EXPECT_EQ(all->front().unix_ms, kT0 + 5);  // the enrollment and the first four connections fell out
  EXPECT_EQ(all->back().unix_ms, kT0 + static_cast<int64_t>(Registry::kMaxHistory) + 4);
}

TEST_F(RegistryTest, HistoriesOfZonesWithPrefixNamesStayApart) {
  std::string a = Enroll("a");
  std::string ab = Enroll("a-b");
  ASSERT_TRUE(reg_->MarkConnected(ab, "v", kT0).ok());
  EXPECT_EQ(EventNames(*reg_->History(a, 10)), (std::vector<std::string>{"enrolled"}));
  EXPECT_EQ(EventNames(*reg_->History(ab, 10)), (std::vector<std::string>{"enrolled", "connected"}));
  ASSERT_TRUE(reg_->ApplyResourceRecord(ab, 1, Resource("bucket", "x", 1), kT0).ok());
  EXPECT_TRUE(reg_->ListResources(a)->empty());
}

TEST_F(RegistryTest, ResourceRecordsApplyExactlyOnce) {
  std::string zone = Enroll("lisbon-1");
  auto first = reg_->ApplyResourceRecord(zone, 1, Resource("bucket", "photos", 1, R"({"v":1})"), kT0);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto dup = reg_->ApplyResourceRecord(zone, 1, Resource("bucket", "photos", 9, R"({"v":9})"), kT0);
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE(*dup);  // a resend: acknowledged, not applied
  EXPECT_EQ(reg_->ListResources(zone)->at(0).state_json, R"({"v":1})");

  auto gap = reg_->ApplyResourceRecord(zone, 3, Resource("bucket", "x", 1), kT0);
  EXPECT_EQ(gap.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg_->ApplyResourceRecord(zone, 0, Resource("bucket", "x", 1), kT0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyResourceRecord(zone, 2, Resource("", "x", 1), kT0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyResourceRecord("us-east-1-annex-nowhere", 1, Resource("bucket", "x", 1), kT0).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(*reg_->ApplyResourceRecord(zone, 2, Resource("bucket", "logs", 1), kT0));

  // A failing `apply` leaves the sequence number where it was.
  auto failed = reg_->ApplyRecord(zone, 3, [](store::WriteTxn&) { return Status::Internal("boom"); });
  EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().last_applied_seq, 2u);

  Reopen();
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().last_applied_seq, 2u);
  EXPECT_FALSE(*reg_->ApplyResourceRecord(zone, 2, Resource("bucket", "logs", 5), kT0));
  EXPECT_EQ(reg_->ApplyResourceRecord(zone, 4, Resource("bucket", "x", 1), kT0).status().code(),
            StatusCode::kFailedPrecondition);
  // A record kind with no registry effect still takes its turn.
  EXPECT_TRUE(*reg_->ApplyRecord(zone, 3, [](store::WriteTxn&) { return Status::OK(); }));
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().last_applied_seq, 3u);
  EXPECT_EQ(reg_->ListResources(zone)->size(), 2u);
}

TEST_F(RegistryTest, ConcurrentResendsApplyOnce) {
  std::string zone = Enroll("lisbon-1");
  constexpr uint64_t kRecords = 20;
  std::atomic<int> applied{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  // Several sessions race to deliver the same records in order.
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (uint64_t seq = 1; seq <= kRecords;) {
        auto r = reg_->ApplyResourceRecord(zone, seq, Resource("bucket", "b" + std::to_string(seq), seq), kT0);
        if (r.ok()) {
          if (*r) applied++;
          ++seq;
        } else if (r.status().code() != StatusCode::kFailedPrecondition) {
          errors++;
          return;
        }  // a gap: another thread has not applied seq - 1 yet; retry
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(kRecords));
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().last_applied_seq, kRecords);
  EXPECT_EQ(reg_->ListResources(zone)->size(), kRecords);
}

TEST_F(RegistryTest, OlderResourceVersionsAreIgnored) {
  std::string zone = Enroll("lisbon-1");
  uint64_t seq = 0;
  auto apply = [&](ResourceState r) {
    ++seq;
    auto applied = reg_->ApplyResourceRecord(zone, seq, r, kT0 + static_cast<int64_t>(seq));
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    EXPECT_TRUE(*applied);  // counted as applied even when ignored
  };
  apply(Resource("bucket", "photos", 2, "v2"));
  apply(Resource("bucket", "photos", 1, "v1"));  // arrived late: ignored
  apply(Resource("bucket", "photos", 2, "v2-again"));
  auto list = reg_->ListResources(zone);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state_json, "v2");
  EXPECT_EQ((*list)[0].version, 2u);
  EXPECT_EQ((*list)[0].updated_unix_ms, kT0 + 1);

  ResourceState gone = Resource("bucket", "photos", 3, "");
  gone.deleted = true;
  gone.updated_unix_ms = 42;
  apply(gone);
  apply(Resource("bucket", "photos", 2, "resurrected?"));  // a tombstone keeps its version
  EXPECT_TRUE(reg_->ListResources(zone)->empty());
  auto with_deleted = reg_->ListResources(zone, /*include_deleted=*/true);
  ASSERT_EQ(with_deleted->size(), 1u);
  EXPECT_TRUE((*with_deleted)[0].deleted);
  EXPECT_EQ((*with_deleted)[0].updated_unix_ms, 42);

  // Sorted by (type, id), also when one type is a prefix of another.
  apply(Resource("instance", "i-2", 1));
  apply(Resource("bucket-policy", "p", 1));
  apply(Resource("instance", "i-1", 1));
  apply(Resource("bucket", "a", 1));
  std::vector<std::pair<std::string, std::string>> order;
  auto sorted = reg_->ListResources(zone);
  ASSERT_TRUE(sorted.ok());
  for (const auto& r : *sorted) order.emplace_back(r.type, r.id);
  EXPECT_EQ(order, (std::vector<std::pair<std::string, std::string>>{
                       {"bucket", "a"}, {"bucket-policy", "p"}, {"instance", "i-1"}, {"instance", "i-2"}}));
}

UsagePeriod Usage(int64_t start, int64_t end, uint64_t requests, uint64_t bytes_in = 0) {
  UsagePeriod u;
  u.start_unix_ms = start;
  u.end_unix_ms = end;
  u.total = {requests, bytes_in, 0};
  u.by_service["s3"] = u.total;
  return u;
}

ApplianceEvent Event(std::string kind, std::string severity = "info", std::string message = "") {
  ApplianceEvent e;
  e.unix_ms = kT0;
  e.severity = std::move(severity);
  e.kind = std::move(kind);
  e.message = std::move(message);
  return e;
}

std::vector<uint64_t> Seqs(const std::vector<UsageEntry>& usage) {
  std::vector<uint64_t> out;
  for (const auto& u : usage) out.push_back(u.seq);
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<ApplianceEvent>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

constexpr int64_t kEver = std::numeric_limits<int64_t>::min();

TEST_F(RegistryTest, UsageAndEventRecordsApplyOnceInOrder) {
  std::string zone = Enroll("lisbon-1");
  UsagePeriod first = Usage(kT0, kT0 + 60 * kSecond, 12, 4096);
  first.bytes_stored = 1 << 20;
  first.objects_stored = 3;
  first.by_service["iam"] = {2, 10, 20};
  first.gauges["s3"] = {{"objects_stored", 3}, {"bytes_stored", 1 << 20}};
  first.gauges["db"] = {{"instances", 2}};
  ASSERT_TRUE(*reg_->ApplyUsageRecord(zone, 1, first));
  ASSERT_TRUE(*reg_->ApplyEventRecord(zone, 2, Event("disk-low", "warning", "5 % free")));
  // Resends (after a reconnect) are acknowledged and change nothing.
  EXPECT_FALSE(*reg_->ApplyUsageRecord(zone, 1, Usage(kT0, kT0 + 60 * kSecond, 999)));
  EXPECT_FALSE(*reg_->ApplyEventRecord(zone, 2, Event("disk-low", "warning", "resent")));
  EXPECT_FALSE(*reg_->ApplyEventRecord(zone, 1, Event("agent-started")));
  // A gap is refused, whatever the kind; kinds share one sequence.
  EXPECT_EQ(reg_->ApplyUsageRecord(zone, 4, Usage(kT0, kT0 + 1, 1)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg_->ApplyEventRecord(zone, 4, Event("x")).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(*reg_->ApplyResourceRecord(zone, 3, Resource("bucket", "b", 1), kT0));
  ASSERT_TRUE(*reg_->ApplyEventRecord(zone, 4, Event("agent-started")));

  // Malformed records are refused and take no sequence number.
  EXPECT_EQ(reg_->ApplyUsageRecord(zone, 5, Usage(kT0 + 10, kT0, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyUsageRecord(zone, 5, Usage(-5, kT0, 1)).status().code(), StatusCode::kInvalidArgument);
  UsagePeriod unnamed = Usage(kT0, kT0 + 1, 1);
  unnamed.by_service[""] = {1, 0, 0};
  EXPECT_EQ(reg_->ApplyUsageRecord(zone, 5, unnamed).status().code(), StatusCode::kInvalidArgument);
  UsagePeriod unnamed_gauge = Usage(kT0, kT0 + 1, 1);
  unnamed_gauge.gauges["s3"][""] = 1;
  EXPECT_EQ(reg_->ApplyUsageRecord(zone, 5, unnamed_gauge).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyEventRecord(zone, 5, Event("disk-low", "fatal")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyEventRecord(zone, 5, Event("Disk Low")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyEventRecord(zone, 5, Event("")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      reg_->ApplyEventRecord(zone, 5, Event("x", "info", std::string(kMaxEventMessageBytes + 1, 'm'))).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->ApplyUsageRecord("us-east-1-annex-nowhere", 1, first).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->ApplyEventRecord("us-east-1-annex-nowhere", 1, Event("x")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->GetZone(zone, kT0)->value().last_applied_seq, 4u);

  Reopen();
  auto usage = reg_->ListUsage(zone, kEver, 10);
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  ASSERT_EQ(usage->size(), 1u);
  const UsageEntry& u = (*usage)[0];
  EXPECT_EQ(u.seq, 1u);
  EXPECT_EQ(u.period.start_unix_ms, kT0);
  EXPECT_EQ(u.period.end_unix_ms, kT0 + 60 * kSecond);
  EXPECT_EQ(u.period.total.requests, 12u);
  EXPECT_EQ(u.period.total.bytes_in, 4096u);
  EXPECT_EQ(u.period.bytes_stored, 1u << 20);
  EXPECT_EQ(u.period.objects_stored, 3u);
  EXPECT_EQ(u.period.gauges, first.gauges) << "named gauges per service survive a reopen";
  ASSERT_EQ(u.period.by_service.size(), 2u);
  EXPECT_EQ(u.period.by_service.at("iam").bytes_out, 20u);
  EXPECT_EQ(u.period.by_service.at("s3").requests, 12u);

  auto events = reg_->ListApplianceEvents(zone, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].seq, 2u);
  EXPECT_EQ((*events)[0].kind, "disk-low");
  EXPECT_EQ((*events)[0].severity, "warning");
  EXPECT_EQ((*events)[0].message, "5 % free");
  EXPECT_EQ((*events)[0].unix_ms, kT0);
  EXPECT_EQ((*events)[1].kind, "agent-started");
  EXPECT_EQ(reg_->ListUsage("us-east-1-annex-nowhere", kEver, 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->ListApplianceEvents("us-east-1-annex-nowhere", 10).status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, UsageIsListedInOrderOfPeriodEnd) {
  std::string zone = Enroll("lisbon-1");
  // The appliance's clock stepped back between the second and third record.
  ASSERT_TRUE(*reg_->ApplyUsageRecord(zone, 1, Usage(kT0, kT0 + 10, 1)));
  ASSERT_TRUE(*reg_->ApplyUsageRecord(zone, 2, Usage(kT0 + 10, kT0 + 30, 2)));
  ASSERT_TRUE(*reg_->ApplyUsageRecord(zone, 3, Usage(kT0 + 20, kT0 + 20, 3)));
  ASSERT_TRUE(*reg_->ApplyUsageRecord(zone, 4, Usage(kT0 + 30, kT0 + 30, 4)));
  EXPECT_EQ(Seqs(*reg_->ListUsage(zone, kEver, 10)), (std::vector<uint64_t>{1, 3, 2, 4}));
  // Periods that ended after `since`; the newest `max` of them.
  EXPECT_EQ(Seqs(*reg_->ListUsage(zone, kT0 + 10, 10)), (std::vector<uint64_t>{3, 2, 4}));
  EXPECT_EQ(Seqs(*reg_->ListUsage(zone, kT0 + 20, 10)), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(Seqs(*reg_->ListUsage(zone, kT0 + 30, 10)), (std::vector<uint64_t>{}));
  EXPECT_EQ(Seqs(*reg_->ListUsage(zone, kEver, 2)), (std::vector<uint64_t>{2, 4}));

  // Another zone's rows never show, even when its name extends this one's.
  std::string longer = Enroll("lisbon-1-b");
  ASSERT_TRUE(*reg_->ApplyUsageRecord(longer, 1, Usage(kT0, kT0 + 40, 9)));
  ASSERT_TRUE(*reg_->ApplyEventRecord(longer, 2, Event("agent-started")));
  EXPECT_EQ(Seqs(*reg_->ListUsage(zone, kEver, 10)), (std::vector<uint64_t>{1, 3, 2, 4}));
  EXPECT_TRUE(reg_->ListApplianceEvents(zone, 10)->empty());
  EXPECT_EQ(Seqs(*reg_->ListUsage(longer, kEver, 10)), (std::vector<uint64_t>{1}));
}

TEST_F(RegistryTest, EventRetentionKeepsTheNewestPerZone) {
  std::string zone = Enroll("lisbon-1");
  std::string other = Enroll("porto-2");
  ASSERT_TRUE(*reg_->ApplyEventRecord(other, 1, Event("agent-started")));
  const uint64_t n = Registry::kMaxApplianceEvents + 3;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    ASSERT_TRUE(*reg_->ApplyEventRecord(zone, seq, Event("e-" + std::to_string(seq))));
  }
  auto events = reg_->ListApplianceEvents(zone, 10 * Registry::kMaxApplianceEvents);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), Registry::kMaxApplianceEvents);
  EXPECT_EQ(events->front().seq, 4u);  // the three oldest were dropped
  EXPECT_EQ(events->back().seq, n);
  EXPECT_EQ(events->back().kind, "e-" + std::to_string(n));
  EXPECT_EQ(Seqs(*reg_->ListApplianceEvents(zone, 2)), (std::vector<uint64_t>{n - 1, n}));
  EXPECT_EQ(reg_->ListApplianceEvents(other, 10)->size(), 1u);  // retention is per zone

  // The bound holds across restarts (the count is stored).
  Reopen();
  ASSERT_TRUE(*reg_->ApplyEventRecord(zone, n + 1, Event("after-restart")));
  events = reg_->ListApplianceEvents(zone, 10 * Registry::kMaxApplianceEvents);
  ASSERT_EQ(events->size(), Registry::kMaxApplianceEvents);
  EXPECT_EQ(events->front().seq, 5u);
}

TEST_F(RegistryTest, UsageRetentionDropsThePeriodsThatEndedFirst) {
  std::string zone = Enroll("lisbon-1");
  const uint64_t n = Registry::kMaxUsagePeriods + 2;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    int64_t start = kT0 + static_cast<int64_t>(seq) * 60 * kSecond;
    ASSERT_TRUE(*reg_->ApplyUsageRecord(zone, seq, Usage(start, start + 60 * kSecond, seq)));
  }
  auto usage = reg_->ListUsage(zone, kEver, 10 * Registry::kMaxUsagePeriods);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), Registry::kMaxUsagePeriods);
  EXPECT_EQ(usage->front().seq, 3u);
  EXPECT_EQ(usage->back().seq, n);
  EXPECT_EQ(usage->back().period.total.requests, n);
}

TEST_F(RegistryTest, CommandsWaitForASiteThatHasNotEnrolled) {
  auto token = reg_->CreateSite("faro", kCa, kT0);
  ASSERT_TRUE(token.ok());
  std::string zone = ZoneName("us-east-1", "faro");
  auto queued = reg_->CreateCommand(zone, "CreateBucket", R"({"bucket":"logs"})", kT0 + 1, "cmd-early");
  ASSERT_TRUE(queued.ok()) << queued.status().message();
  ASSERT_EQ(reg_->PendingCommands(zone)->size(), 1u);
  // A zone name without a site is still unknown, even inside the region's namespace.
  EXPECT_EQ(reg_->CreateCommand(ZoneName("us-east-1", "nowhere"), "k", "{}", kT0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(reg_->PendingCommands(ZoneName("us-east-1", "nowhere")).status().code(), StatusCode::kNotFound);

  // Enrolling keeps the queue: the first session finds the command.
  ASSERT_TRUE(reg_->ConsumeToken(*token, "01", kT0 + 2).ok());
  auto pending = reg_->PendingCommands(zone);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().id, "cmd-early");
}

TEST_F(RegistryTest, CommandLifecycle) {
  std::string zone = Enroll("lisbon-1");
  std::string other = Enroll("porto-2");
  EXPECT_EQ(reg_->CreateCommand("us-east-1-annex-nowhere", "k", "{}", kT0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->CreateCommand(zone, "", "{}", kT0).status().code(), StatusCode::kInvalidArgument);

  auto a = reg_->CreateCommand(zone, "upgrade", R"({"to":"1.2"})", kT0 + 1);
  auto b = reg_->CreateCommand(zone, "rotate-cert", "{}", kT0 + 2);
  auto c = reg_->CreateCommand(other, "upgrade", "{}", kT0 + 3);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->state, "pending");
  EXPECT_EQ(a->zone, zone);
  EXPECT_EQ(a->created_unix_ms, kT0 + 1);
  ASSERT_EQ(a->id.size(), 4u + 16u);
  EXPECT_EQ(a->id.substr(0, 4), "cmd-");
  EXPECT_EQ(a->id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(a->id, b->id);

  auto pending = reg_->PendingCommands(zone);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, a->id);  // oldest first
  EXPECT_EQ((*pending)[1].id, b->id);

  ASSERT_TRUE(reg_->MarkDelivered(a->id, kT0 + 10, zone).ok());
  ASSERT_TRUE(reg_->MarkDelivered(a->id, kT0 + 11).ok());                           // redelivered after a reconnect
  EXPECT_EQ(reg_->MarkDelivered(a->id, kT0, other).code(), StatusCode::kNotFound);  // not that zone's
  EXPECT_EQ(reg_->MarkDelivered("cmd-0000000000000000", kT0).code(), StatusCode::kNotFound);
  pending = reg_->PendingCommands(zone);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].state, "delivered");
  EXPECT_EQ((*pending)[0].updated_unix_ms, kT0 + 11);

  EXPECT_EQ(reg_->FinishCommand(a->id, true, "done", kT0, other).code(), StatusCode::kNotFound);
  ASSERT_TRUE(reg_->FinishCommand(a->id, true, "upgraded", kT0 + 20, zone).ok());
  ASSERT_TRUE(reg_->FinishCommand(a->id, true, "again", kT0 + 21).ok());  // a repeated report
  EXPECT_EQ(reg_->FinishCommand(a->id, false, "?", kT0 + 22).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg_->MarkDelivered(a->id, kT0 + 23).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(reg_->FinishCommand(b->id, false, "no disk", kT0 + 30).ok());  // finished without delivery

  EXPECT_TRUE(reg_->PendingCommands(zone)->empty());
  auto all = reg_->ListCommands(zone);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].state, "succeeded");
  EXPECT_EQ((*all)[0].result, "upgraded");
  EXPECT_EQ((*all)[0].updated_unix_ms, kT0 + 20);
  EXPECT_EQ((*all)[1].state, "failed");
  EXPECT_EQ((*all)[1].result, "no disk");
  EXPECT_EQ(reg_->PendingCommands(other)->size(), 1u);
  EXPECT_EQ(reg_->GetCommand(c->id)->value().kind, "upgrade");
  EXPECT_FALSE(reg_->GetCommand("cmd-ffffffffffffffff")->has_value());
  EXPECT_EQ(reg_->ListCommands("us-east-1-annex-nowhere").status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryTest, CommandCreationIsIdempotentById) {
  std::string zone = Enroll("lisbon-1");
  auto first = reg_->CreateCommand(zone, "upgrade", R"({"to":"1.2"})", kT0, "op-7");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->id, "op-7");
  auto retry = reg_->CreateCommand(zone, "upgrade", R"({"to":"1.2"})", kT0 + 50, "op-7");
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->created_unix_ms, kT0);  // the existing command, not a new one
  EXPECT_EQ(reg_->ListCommands(zone)->size(), 1u);
  EXPECT_EQ(reg_->CreateCommand(zone, "upgrade", R"({"to":"1.3"})", kT0, "op-7").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(reg_->CreateCommand(zone, "upgrade", "{}", kT0, "bad id!").status().code(), StatusCode::kInvalidArgument);

  // A finished command is still the answer to a retried create.
  ASSERT_TRUE(reg_->FinishCommand("op-7", true, "ok", kT0 + 60).ok());
  auto late = reg_->CreateCommand(zone, "upgrade", R"({"to":"1.2"})", kT0 + 70, "op-7");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->state, "succeeded");
  EXPECT_TRUE(reg_->PendingCommands(zone)->empty());
}

TEST_F(RegistryTest, ConcurrentCommandCreationKeepsEveryCommand) {
  std::string zone = Enroll("lisbon-1");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(reg_->CreateCommand(zone, "k" + std::to_string(t), "{}", kT0 + i).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto all = reg_->ListCommands(zone);
  ASSERT_TRUE(all.ok());
  std::set<std::string> ids;
  for (const auto& c : *all) ids.insert(c.id);
  EXPECT_EQ(ids.size(), 40u);
  EXPECT_EQ(reg_->PendingCommands(zone)->size(), 40u);
}

TEST_F(RegistryTest, ReopenKeepsEverything) {
  std::string zone = Enroll("lisbon-1", "serial-9");
  auto waiting = reg_->CreateSite("porto-2", kCa, kT0 + 5);
  ASSERT_TRUE(waiting.ok());
  ZoneCapacity capacity{8, 1 << 30, 2ull << 40, 1ull << 40, {"s3"}, {{"CreateBucket", "s3", R"({"bucket": {}})"}}};
  ASSERT_TRUE(reg_->MarkConnected(zone, "2.0.0", kT0 + 10).ok());
  ASSERT_TRUE(reg_->RecordHeartbeat(zone, capacity, kT0 + 20).ok());
  ASSERT_TRUE(*reg_->ApplyResourceRecord(zone, 1, Resource("bucket", "photos", 4, "{}"), kT0 + 30));
  auto cmd = reg_->CreateCommand(zone, "upgrade", "{}", kT0 + 40);
  ASSERT_TRUE(cmd.ok());
  ASSERT_TRUE(reg_->MarkDelivered(cmd->id, kT0 + 50).ok());

  Reopen();
  EXPECT_EQ(reg_->region(), "us-east-1");
  auto sites = reg_->ListSites();
  ASSERT_TRUE(sites.ok());
  ASSERT_EQ(sites->size(), 2u);
  EXPECT_EQ((*sites)[0].name, "lisbon-1");
  EXPECT_TRUE((*sites)[0].enrolled);
  EXPECT_EQ((*sites)[1].name, "porto-2");
  EXPECT_FALSE((*sites)[1].enrolled);
  EXPECT_EQ((*sites)[1].created_unix_ms, kT0 + 5);

  ZoneStatus z = reg_->GetZone(zone, kT0 + 30)->value();
  EXPECT_EQ(z.site, "lisbon-1");
  EXPECT_EQ(z.cert_serial, "serial-9");
  EXPECT_EQ(z.agent_version, "2.0.0");
  EXPECT_EQ(z.connected_since_unix_ms, kT0 + 10);
  EXPECT_EQ(z.last_heartbeat_unix_ms, kT0 + 20);
  EXPECT_EQ(z.capacity.services, std::vector<std::string>{"s3"});
  ASSERT_EQ(z.capacity.commands.size(), 1u);
  EXPECT_EQ(z.capacity.commands[0].kind, "CreateBucket");
  EXPECT_EQ(z.capacity.commands[0].service, "s3");
  EXPECT_EQ(z.capacity.commands[0].args_schema_json, R"({"bucket": {}})");
  EXPECT_EQ(z.last_applied_seq, 1u);
  EXPECT_EQ(z.state, ZoneState::kAvailable);
  EXPECT_EQ(reg_->ListResources(zone)->at(0).version, 4u);
  auto pending = reg_->PendingCommands(zone);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->at(0).state, "delivered");
  EXPECT_EQ(EventNames(*reg_->History(zone, 10)), (std::vector<std::string>{"enrolled", "connected"}));
  // The outstanding token of the site not enrolled yet still works, once.
  EXPECT_TRUE(reg_->ConsumeToken(*waiting, "s", kT0).ok());
  // Command ids keep their order across restarts.
  auto next = reg_->CreateCommand(zone, "later", "{}", kT0 + 60);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(reg_->ListCommands(zone)->back().id, next->id);
}

TEST_F(RegistryTest, ARegistryBelongsToOneRegion) {
  EXPECT_EQ(Registry::Open(tmp_.path() + "/x", "Bad Region").status().code(), StatusCode::kInvalidArgument);
  reg_.reset();
  EXPECT_EQ(Registry::Open(Dir(), "eu-west-1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Registry::Open(Dir(), "us-east-1").ok());
}

}  // namespace
}  // namespace annex::sync
