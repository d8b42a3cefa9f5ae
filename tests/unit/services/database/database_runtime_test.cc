// The database service's pure pieces: PostgreSQL's version line, the
// annex.conf it writes, mount points read from mountinfo, the backup user's
// policy, what a restore starts from, SQL quoting, and the Query protocol's
// flattened lists.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "appliance/service/query_protocol.h"
#include "services/database/instance_backups.h"
#include "services/database/instance_classes.h"
#include "services/database/instance_reconciler.h"
#include "services/database/instance_volume.h"
#include "services/database/postgres_binaries.h"
#include "services/database/postgres_config.h"

namespace annex::database {
namespace {

TEST(PostgresBinaries, VersionFromTheVersionLine) {
  EXPECT_EQ(ParsePostgresVersion("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n").value(), "15.18");
  EXPECT_EQ(ParsePostgresVersion("postgres (PostgreSQL) 16.4\n").value(), "16.4");
  EXPECT_FALSE(ParsePostgresVersion("mysqld  Ver 8.0").ok());
  EXPECT_FALSE(ParsePostgresVersion("postgres (PostgreSQL) beta").ok());
}

TEST(PostgresBinaries, SqlQuotingDoublesTheQuote) {
  EXPECT_EQ(SqlLiteral("it's"), "'it''s'");
  EXPECT_EQ(SqlLiteral("back\\slash"), "'back\\slash'") << "standard_conforming_strings: backslashes are literal";
  EXPECT_EQ(SqlIdentifier("my\"db"), "\"my\"\"db\"");
}

TEST(PostgresConfig, AnnexConfCarriesTheClassAndTheArchive) {
  InstanceSettings s;
  s.port = 5433;
  s.socket_dir = "/var/annex/database/instances/db-X/run";
  s.memory = SettingsFor(*FindInstanceClass("db.t3.micro"));
  std::string conf = RenderAnnexConf(s);
  EXPECT_NE(conf.find("port = 5433\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("unix_socket_directories = '/var/annex/database/instances/db-X/run'\n"), std::string::npos);
  EXPECT_NE(conf.find("shared_buffers = 192MB\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("max_connections = 84\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("password_encryption = 'scram-sha-256'\n"), std::string::npos);
  EXPECT_NE(conf.find("archive_mode = off\n"), std::string::npos);
  s.archive_command = ArchiveCommand("/x/pgbackrest.conf", kStanza);
  conf = RenderAnnexConf(s);
  EXPECT_NE(conf.find("archive_mode = on\n"), std::string::npos);
  EXPECT_NE(conf.find("archive_command = '/usr/bin/pgbackrest --config=/x/pgbackrest.conf --stanza=db archive-push %p'\n"),
            std::string::npos)
      << conf;
}

TEST(InstanceVolume, MountPointsFromMountinfo) {
  std::string mountinfo =
      "22 1 0:21 / / rw - ext4 /dev/vda1 rw\n"
      "40 22 7:0 / /var/annex/db\\040one/volume rw,noatime - ext4 /dev/loop0 rw\n"
      "41 22 7:1 / /var/annex/db2/volume rw,noatime - ext4 /dev/loop1 rw\n";
  EXPECT_TRUE(IsMountPoint(mountinfo, "/var/annex/db2/volume"));
  EXPECT_TRUE(IsMountPoint(mountinfo, "/var/annex/db one/volume")) << "spaces are octal-escaped in mountinfo";
  EXPECT_FALSE(IsMountPoint(mountinfo, "/var/annex/db2"));
  EXPECT_FALSE(IsMountPoint(mountinfo, "/var/annex/db3/volume"));
}

TEST(InstanceBackups, TheBackupUserReachesItsOwnPrefixesOnly) {
  nlohmann::json policy = nlohmann::json::parse(BackupUserPolicy("annex-rds-backups-1", "db-ABC"));
  std::string text = policy.dump();
  EXPECT_NE(text.find("arn:aws:s3:::annex-rds-backups-1/db-ABC/*"), std::string::npos);
  EXPECT_NE(text.find("arn:aws:s3:::annex-rds-backups-1/db-ABC-snapshots/*"), std::string::npos);
  EXPECT_EQ(text.find("\"*\""), std::string::npos) << "no wildcard resource: " << text;
  const auto& list = policy["Statement"][1];
  EXPECT_EQ(list["Action"], "s3:ListBucket");
  EXPECT_EQ(list["Condition"]["StringLike"]["s3:prefix"], nlohmann::json::array({"db-ABC/*", "db-ABC-snapshots/*"}));
}

TEST(InstanceBackups, RecoveryTargetsInPostgresTimeFormat) {
  EXPECT_EQ(RecoveryTargetTime(1796654315624), "2026-12-07 14:38:35.624+00");
  EXPECT_EQ(RecoveryTargetTime(1796654315000), "2026-12-07 14:38:35.000+00");
}

TEST(InstanceBackups, RestoreSourcesFromWhatTheApiRecorded) {
  RestoreSource manual = RestoreSourceOf({{"sourceResourceId", "db-A"}, {"label", "20261207-143835F"}});
  EXPECT_EQ(manual.resource_id, "db-A");
  EXPECT_TRUE(manual.snapshots) << "snapshots recorded before automated ones existed are manual";
  EXPECT_EQ(manual.label, "20261207-143835F");
  RestoreSource automated =
      RestoreSourceOf({{"sourceResourceId", "db-A"}, {"label", "20261207-143835F"}, {"repo", "automated"}});
  EXPECT_FALSE(automated.snapshots);
  RestoreSource in_time = RestoreSourceOf({{"sourceResourceId", "db-B"}, {"timeMs", 1796654315624}});
  EXPECT_FALSE(in_time.snapshots) << "a point in time is in the automated backups and their WAL";
  EXPECT_TRUE(in_time.label.empty());
  EXPECT_EQ(in_time.time_ms, 1796654315624);
}

TEST(QueryProtocol, RemovedParametersAreGoneEveryTime) {
  auto params = http::QueryParams::Parse("A=1&B=2&A=3", true);
  ASSERT_TRUE(params.ok());
  params->Remove("A");
  EXPECT_EQ(params->Get("A"), nullptr);
  ASSERT_NE(params->Get("B"), nullptr);
  EXPECT_EQ(*params->Get("B"), "2");
}

TEST(QueryProtocol, FlattenedListsInIndexOrder) {
  auto params = http::QueryParams::Parse(
      "Tags.Tag.2.Key=b&Tags.Tag.1.Key=a&Tags.Tag.1.Value=1&Tags.Tag.2.Value=2&Tags.Tag.x.Key=bad&"
      "Tags.member.1.Key=other&TagKeys.member.2=k2&TagKeys.member.1=k1&TagKeys.member.0=zero", true);
  ASSERT_TRUE(params.ok());
  auto tags = service::QueryStructList(*params, "Tags", "Tag");
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].at("Key"), "a");
  EXPECT_EQ(tags[0].at("Value"), "1");
  EXPECT_EQ(tags[1].at("Key"), "b");
  EXPECT_EQ(service::QueryStringList(*params, "TagKeys", "member"), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(service::QueryStructList(*params, "Filters", "Filter").empty());
}

// A restore point waits for its segment to be archived. A backup history
// file archived last names its segment; waiting for a plain segment name
// instead stalled restore points until archive_timeout.
TEST(ArchivedThroughTest, SegmentsBackupHistoryAndTimelineFiles) {
  const std::string segment = "000000010000000000000005";
  EXPECT_TRUE(ArchivedThrough("000000010000000000000005", segment));
  EXPECT_TRUE(ArchivedThrough("000000010000000000000006", segment));
  EXPECT_TRUE(ArchivedThrough("000000020000000000000005", segment));  // a later timeline
  EXPECT_FALSE(ArchivedThrough("000000010000000000000004", segment));
  EXPECT_TRUE(ArchivedThrough("000000010000000000000005.00000028.backup", segment));
  EXPECT_FALSE(ArchivedThrough("000000010000000000000004.00000028.backup", segment));
  EXPECT_FALSE(ArchivedThrough("00000002.history", segment));
  EXPECT_FALSE(ArchivedThrough("", segment));
}

}  // namespace
}  // namespace annex::database
