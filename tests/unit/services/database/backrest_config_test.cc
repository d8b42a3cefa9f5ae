// The pgBackRest settings for a database instance: the pgbackrest.conf
// text proven against annexd (docs/backups-pgbackrest.md), what is refused
// before it is written, the command lines, archive_command's quoting, and
// `pgbackrest info --output=json` as pgBackRest 2.45 printed it there.

#include "services/database/backrest_config.h"

#include <gtest/gtest.h>

namespace annex::database {
namespace {

BackrestRepo Repo() {
  BackrestRepo r;
  r.endpoint_host = "localhost";
  r.port = 18443;
  r.bucket = "pgbackups";
  r.region = "us-east-1";
  r.access_key_id = "AKIAXNDPJ36ZOKOS2THE";
  r.secret_access_key = "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";
  r.ca_file = "/var/lib/annex/db/db1/backrest/ca.pem";
  r.repo_path = "/db1";
  r.retention_full = 7;
  return r;
}

BackrestInstance Instance() {
  BackrestInstance in;
  in.stanza = "db1";
  in.pg_data_dir = "/var/lib/annex/db/db1/data";
  in.pg_port = 15433;
  in.socket_dir = "/var/lib/annex/db/db1/run";
  in.log_dir = "/var/lib/annex/db/db1/backrest/log";
  in.lock_dir = "/var/lib/annex/db/db1/backrest/lock";
  in.spool_dir = "/var/lib/annex/db/db1/backrest/spool";
  return in;
}

TEST(BackrestConfigTest, RendersTheProvenConfig) {
  Result<std::string> text = RenderBackrestConfig(Repo(), Instance());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text,
            "# pgBackRest for stanza db1, written by annexd (services/database): do not edit.\n"
            "[global]\n"
            "# repo1: s3://pgbackups/db1\n"
            "repo1-type=s3\n"
            "repo1-s3-endpoint=localhost\n"
            "repo1-storage-port=18443\n"
            "repo1-s3-uri-style=path\n"
            "repo1-s3-region=us-east-1\n"
            "repo1-s3-bucket=pgbackups\n"
            "repo1-s3-key=AKIAXNDPJ36ZOKOS2THE\n"
            "repo1-s3-key-secret=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\n"
            "repo1-storage-ca-file=/var/lib/annex/db/db1/backrest/ca.pem\n"
            "repo1-storage-verify-tls=y\n"
            "repo1-path=/db1\n"
            "repo1-bundle=y\n"
            "repo1-retention-full-type=time\n"
            "repo1-retention-full=7\n"
            "# how commands run\n"
            "process-max=2\n"
            "compress-type=zst\n"
            "archive-async=y\n"
            "spool-path=/var/lib/annex/db/db1/backrest/spool\n"
            "lock-path=/var/lib/annex/db/db1/backrest/lock\n"
            "log-path=/var/lib/annex/db/db1/backrest/log\n"
            "log-level-console=warn\n"
            "log-level-file=info\n"
            "start-fast=y\n"
            "\n"
            "[global:archive-push]\n"
            "log-level-file=warn\n"
            "archive-async=n\n"
            "\n"
            "[global:archive-get]\n"
            "log-level-file=warn\n"
            "\n"
            "[db1]\n"
            "pg1-path=/var/lib/annex/db/db1/data\n"
            "pg1-port=15433\n"
            "pg1-socket-path=/var/lib/annex/db/db1/run\n"
            "pg1-user=postgres\n"
            "pg1-database=postgres\n");
}

TEST(BackrestConfigTest, SessionTokenAndOptions) {
  BackrestRepo r = Repo();
  r.session_token = "AUjLhwdKrl/ZwMTykhXQ+XhBcdI//4kk==";
  r.verify_tls = false;
  r.path_style = false;
  r.bundle = false;
  r.ca_file.clear();
  BackrestInstance in = Instance();
  in.archive_async = false;
  in.compress_type = "lz4";
  in.process_max = 4;
  Result<std::string> text = RenderBackrestConfig(r, in);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("\nrepo1-s3-token=AUjLhwdKrl/ZwMTykhXQ+XhBcdI//4kk==\n"), std::string::npos);
  EXPECT_NE(text->find("\nrepo1-storage-verify-tls=n\n"), std::string::npos);
  EXPECT_NE(text->find("\nrepo1-s3-uri-style=host\n"), std::string::npos);
  EXPECT_NE(text->find("\nrepo1-bundle=n\n"), std::string::npos);
  EXPECT_EQ(text->find("storage-ca-file"), std::string::npos);
  EXPECT_NE(text->find("\narchive-async=n\n"), std::string::npos);
  EXPECT_NE(text->find("\ncompress-type=lz4\n"), std::string::npos);
  EXPECT_NE(text->find("\nprocess-max=4\n"), std::string::npos);
  // Without a token there is no token line at all.
  Result<std::string> plain = RenderBackrestConfig(Repo(), Instance());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->find("s3-token"), std::string::npos);
}

TEST(BackrestConfigTest, SnapshotRepositoryIsRepo2) {
  BackrestRepo snapshots = Repo();
  snapshots.repo_path = "/db1-snapshots";
  snapshots.retention = BackrestRetention::kCount;
  snapshots.retention_full = 9999999;
  Result<std::string> text = RenderBackrestConfig({Repo(), snapshots}, Instance());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(text->find("\nrepo1-path=/db1\n"), std::string::npos);
  EXPECT_NE(text->find("\n# repo2: s3://pgbackups/db1-snapshots\nrepo2-type=s3\n"), std::string::npos);
  EXPECT_NE(text->find("\nrepo2-path=/db1-snapshots\n"), std::string::npos);
  EXPECT_NE(text->find("\nrepo2-retention-full-type=count\nrepo2-retention-full=9999999\n"), std::string::npos);
  EXPECT_NE(text->find("\nrepo2-s3-key-secret=V4J6kbmfamOeWvGwsf5txjO2nqfrPO9ot2plpySw\n"), std::string::npos);

  // Two repositories on the same prefix would write each other's files.
  EXPECT_FALSE(RenderBackrestConfig({Repo(), Repo()}, Instance()).ok());
  EXPECT_FALSE(RenderBackrestConfig(std::vector<BackrestRepo>{}, Instance()).ok());
}

TEST(BackrestConfigTest, RefusesWhatTheFileCannotCarry) {
  struct Case {
    const char* name;
    void (*edit)(BackrestRepo&, BackrestInstance&);
  };
  const Case cases[] = {
      {"secret with a newline", [](BackrestRepo& r, BackrestInstance&) { r.secret_access_key = "abc\nrepo1-path=/x"; }},
      {"token with a CR", [](BackrestRepo& r, BackrestInstance&) { r.session_token = "abc\r"; }},
      {"key with a trailing blank", [](BackrestRepo& r, BackrestInstance&) { r.access_key_id = "AKIA "; }},
      {"no key", [](BackrestRepo& r, BackrestInstance&) { r.access_key_id.clear(); }},
      {"no secret", [](BackrestRepo& r, BackrestInstance&) { r.secret_access_key.clear(); }},
      {"no bucket", [](BackrestRepo& r, BackrestInstance&) { r.bucket.clear(); }},
      {"endpoint with a port", [](BackrestRepo& r, BackrestInstance&) { r.endpoint_host = "localhost:443"; }},
      {"endpoint as a URL", [](BackrestRepo& r, BackrestInstance&) { r.endpoint_host = "https://localhost"; }},
      {"port 0", [](BackrestRepo& r, BackrestInstance&) { r.port = 0; }},
      {"relative repo path", [](BackrestRepo& r, BackrestInstance&) { r.repo_path = "db1"; }},
      {"bucket root", [](BackrestRepo& r, BackrestInstance&) { r.repo_path = "/"; }},
      {"relative CA file", [](BackrestRepo& r, BackrestInstance&) { r.ca_file = "ca.pem"; }},
      {"0 days", [](BackrestRepo& r, BackrestInstance&) { r.retention_full = 0; }},
      {"too many days", [](BackrestRepo& r, BackrestInstance&) { r.retention_full = 10000000; }},
      {"no stanza", [](BackrestRepo&, BackrestInstance& in) { in.stanza.clear(); }},
      {"stanza with a slash", [](BackrestRepo&, BackrestInstance& in) { in.stanza = "a/b"; }},
      {"stanza with a bracket", [](BackrestRepo&, BackrestInstance& in) { in.stanza = "a]"; }},
      {"stanza starting with a dash", [](BackrestRepo&, BackrestInstance& in) { in.stanza = "-db"; }},
      {"stanza named global", [](BackrestRepo&, BackrestInstance& in) { in.stanza = "global"; }},
      {"relative data dir", [](BackrestRepo&, BackrestInstance& in) { in.pg_data_dir = "data"; }},
      {"no socket dir", [](BackrestRepo&, BackrestInstance& in) { in.socket_dir.clear(); }},
      {"no log dir", [](BackrestRepo&, BackrestInstance& in) { in.log_dir.clear(); }},
      {"no lock dir", [](BackrestRepo&, BackrestInstance& in) { in.lock_dir.clear(); }},
      {"no spool dir", [](BackrestRepo&, BackrestInstance& in) { in.spool_dir.clear(); }},
      {"pg port 0", [](BackrestRepo&, BackrestInstance& in) { in.pg_port = 0; }},
      {"no pg user", [](BackrestRepo&, BackrestInstance& in) { in.pg_user.clear(); }},
      {"no processes", [](BackrestRepo&, BackrestInstance& in) { in.process_max = 0; }},
      {"unknown compression", [](BackrestRepo&, BackrestInstance& in) { in.compress_type = "xz"; }},
  };
  for (const Case& c : cases) {
    BackrestRepo r = Repo();
    BackrestInstance in = Instance();
    c.edit(r, in);
    Result<std::string> text = RenderBackrestConfig(r, in);
    EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument) << c.name;  // kOk when it rendered
  }
  // Stanza names like RDS resource ids pass.
  BackrestInstance in = Instance();
  in.stanza = "db-ABCDEFGHIJKLMNOPQRSTUVWXY2.v_1";
  EXPECT_TRUE(RenderBackrestConfig(Repo(), in).ok());
}

TEST(BackrestConfigTest, CommandLines) {
  EXPECT_EQ(BackrestCommand("/i/backrest/pgbackrest.conf", "db1", "backup", {"--type=full"}),
            (std::vector<std::string>{"/usr/bin/pgbackrest", "--config=/i/backrest/pgbackrest.conf", "--stanza=db1",
                                      "backup", "--type=full"}));
  EXPECT_EQ(
      BackrestCommand("/i/restore.conf", "db1", "restore",
                      {"--type=time", "--target=2026-12-07 14:38:35.624893+00", "--target-action=promote"},
                      "/opt/pgbackrest"),
      (std::vector<std::string>{"/opt/pgbackrest", "--config=/i/restore.conf", "--stanza=db1", "restore", "--type=time",
                                "--target=2026-12-07 14:38:35.624893+00", "--target-action=promote"}));
  EXPECT_EQ(BackrestCommand("/c", "s", "info"),
            (std::vector<std::string>{"/usr/bin/pgbackrest", "--config=/c", "--stanza=s", "info"}));
}

TEST(BackrestConfigTest, ArchiveCommandQuoting) {
  EXPECT_EQ(ArchiveCommand("/i/backrest/pgbackrest.conf", "db1"),
            "'/usr/bin/pgbackrest --config=/i/backrest/pgbackrest.conf --stanza=db1 archive-push %p'");
  // A blank makes the word shell-quoted; the quotes are then doubled for postgresql.conf.
  EXPECT_EQ(ArchiveCommand("/my dir/pgbackrest.conf", "db1"),
            "'/usr/bin/pgbackrest ''--config=/my dir/pgbackrest.conf'' --stanza=db1 archive-push %p'");
  // A quote inside a word: the shell's '\'' whose quotes and backslash are then doubled.
  EXPECT_EQ(ArchiveCommand("/it's/p.conf", "db1"),
            R"('/usr/bin/pgbackrest ''--config=/it''\\''''s/p.conf'' --stanza=db1 archive-push %p')");
  // '%' is the server's escape: written %% so the shell gets one '%'.
  EXPECT_EQ(ArchiveCommand("/100%/p.conf", "db1"),
            "'/usr/bin/pgbackrest --config=/100%%/p.conf --stanza=db1 archive-push %p'");
  EXPECT_EQ(ArchiveCommand("/c", "s", "/opt/pgbackrest"), "'/opt/pgbackrest --config=/c --stanza=s archive-push %p'");
}

// `pgbackrest info --output=json` after a full, an incremental and a differential backup of a fresh instance.
constexpr const char* kInfoFullIncrDiff =
    R"json([{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000007",)json"
    R"json("min":"000000010000000000000001"}],"backup":[{"archive":{"start":"000000010000000000000003",)json"
    R"json("stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,)json"
    R"json("repo-key":1},"error":false,"info":{"delta":23064781,"repository":{"delta":2814732,)json"
    R"json("size":2814732},"size":23064781},"label":"20261207-143738F","lsn":{"start":"0/3000028",)json"
    R"json("stop":"0/3000100"},"prior":null,"reference":null,"timestamp":{"start":1796654258,)json"
    R"json("stop":1796654263},"type":"full"},{"archive":{"start":"000000010000000000000005",)json"
    R"json("stop":"000000010000000000000005"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,)json"
    R"json("repo-key":1},"error":false,"info":{"delta":1701829,"repository":{"delta":172458,"size":2818040},)json"
    R"json("size":23125089},"label":"20261207-143738F_20261207-143749I","lsn":{"start":"0/5000028",)json"
    R"json("stop":"0/5000100"},"prior":"20261207-143738F","reference":["20261207-143738F"],)json"
    R"json("timestamp":{"start":1796654269,"stop":1796654270},"type":"incr"},)json"
    R"json({"archive":{"start":"000000010000000000000007","stop":"000000010000000000000007"},)json"
    R"json("backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,)json"
    R"json("info":{"delta":1704790,"repository":{"delta":173128,"size":2818710},"size":23128050},)json"
    R"json("label":"20261207-143738F_20261207-143751D","lsn":{"start":"0/7000028","stop":"0/7000100"},)json"
    R"json("prior":"20261207-143738F","reference":["20261207-143738F"],"timestamp":{"start":1796654271,)json"
    R"json("stop":1796654273},"type":"diff"}],"cipher":"none","db":[{"id":1,"repo-key":1,)json"
    R"json("system-id":7716570842809595182,"version":"15"}],"name":"db1","repo":[{"cipher":"none","key":1,)json"
    R"json("status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},)json"
    R"json("message":"ok"}}])json";

TEST(BackrestInfoTest, FullIncrDiff) {
  Result<std::vector<BackrestStanzaInfo>> parsed = ParseBackrestInfo(kInfoFullIncrDiff);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  const BackrestStanzaInfo& s = (*parsed)[0];
  EXPECT_EQ(s.name, "db1");
  EXPECT_EQ(s.status_code, 0);
  EXPECT_EQ(s.status_message, "ok");
  EXPECT_FALSE(s.backup_lock_held);
  EXPECT_EQ(s.archive_min, "000000010000000000000001");
  EXPECT_EQ(s.archive_max, "000000010000000000000007");
  ASSERT_EQ(s.backups.size(), 3u);

  const BackrestBackup& full = s.backups[0];
  EXPECT_EQ(full.label, "20261207-143738F");
  EXPECT_EQ(full.type, "full");
  EXPECT_EQ(full.prior, "");
  EXPECT_EQ(full.start_time, 1796654258);
  EXPECT_EQ(full.stop_time, 1796654263);
  EXPECT_EQ(full.database_size, 23064781u);
  EXPECT_EQ(full.backup_size, 23064781u);
  EXPECT_EQ(full.repo_size, 2814732u);
  EXPECT_EQ(full.repo_delta, 2814732u);
  EXPECT_EQ(full.wal_start, "000000010000000000000003");
  EXPECT_EQ(full.wal_stop, "000000010000000000000003");
  EXPECT_FALSE(full.error);

  const BackrestBackup& incr = s.backups[1];
  EXPECT_EQ(incr.label, "20261207-143738F_20261207-143749I");
  EXPECT_EQ(incr.type, "incr");
  EXPECT_EQ(incr.prior, "20261207-143738F");
  EXPECT_EQ(incr.database_size, 23125089u);
  EXPECT_EQ(incr.backup_size, 1701829u);
  EXPECT_EQ(incr.repo_size, 2818040u);
  EXPECT_EQ(incr.repo_delta, 172458u);

  const BackrestBackup& diff = s.backups[2];
  EXPECT_EQ(diff.label, "20261207-143738F_20261207-143751D");
  EXPECT_EQ(diff.type, "diff");
  EXPECT_EQ(diff.start_time, 1796654271);
  EXPECT_EQ(diff.stop_time, 1796654273);
  EXPECT_EQ(diff.wal_stop, "000000010000000000000007");
}

TEST(BackrestInfoTest, RestoredInstanceBeforeItsFirstBackup) {
  // A PITR-restored instance's own stanza: its timeline-2 WAL is archived, no backup yet.
  Result<std::vector<BackrestStanzaInfo>> parsed = ParseBackrestInfo(
      R"json([{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000020000000000000009",)json"
      R"json("min":"000000020000000000000009"}],"backup":[],"cipher":"none","db":[{"id":1,"repo-key":1,)json"
      R"json("system-id":7716570842809595182,"version":"15"}],"name":"db2","repo":[{"cipher":"none","key":1,)json"
      R"json("status":{"code":2,"message":"no valid backups"}}],"status":{"code":2,)json"
      R"json("lock":{"backup":{"held":false}},"message":"no valid backups"}}])json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].status_code, 2);
  EXPECT_EQ((*parsed)[0].status_message, "no valid backups");
  EXPECT_EQ((*parsed)[0].archive_min, "000000020000000000000009");
  EXPECT_TRUE((*parsed)[0].backups.empty());
}

TEST(BackrestInfoTest, MissingStanza) {
  Result<std::vector<BackrestStanzaInfo>> parsed = ParseBackrestInfo(
      R"json([{"archive":[],"backup":[],"cipher":"none","db":[],"name":"nosuch","repo":[{"cipher":"none",)json"
      R"json("key":1,"status":{"code":1,"message":"missing stanza path"}}],"status":{"code":1,)json"
      R"json("lock":{"backup":{"held":false}},"message":"missing stanza path"}}])json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)[0].name, "nosuch");
  EXPECT_EQ((*parsed)[0].status_code, 1);
  EXPECT_EQ((*parsed)[0].archive_min, "");
  EXPECT_TRUE((*parsed)[0].backups.empty());
}

TEST(BackrestInfoTest, RepositoryErrorCarriesTheS3Answer) {
  // As printed for a tampered session token (abridged: the request and response headers are cut).
  Result<std::vector<BackrestStanzaInfo>> parsed = ParseBackrestInfo(
      R"json([{"archive":[],"backup":[],"cipher":"none","db":[],"name":"db1","repo":[{"cipher":"none","key":1,)json"
      R"json("status":{"code":99,"message":"[ProtocolError] HTTP request failed with 400 (Bad Request):\n)json"
      R"json(*** Response Content ***:\n<Error><Code>InvalidToken</Code></Error>"}}],)json"
      R"json("status":{"code":99,"lock":{"backup":{"held":true}},"message":"other"}}])json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const BackrestStanzaInfo& s = (*parsed)[0];
  EXPECT_EQ(s.status_code, 99);
  EXPECT_TRUE(s.backup_lock_held);
  EXPECT_NE(s.status_message.find("InvalidToken"), std::string::npos);
  EXPECT_EQ(s.status_message.rfind("[ProtocolError] HTTP request failed with 400", 0), 0u);
}

TEST(BackrestInfoTest, RefusesOtherShapes) {
  const char* bad[] = {
      "",
      "not json",
      "{}",
      "[1]",
      R"([{"status":{"code":0}}])",                                                    // no name
      R"([{"name":"a"}])",                                                             // no status
      R"([{"name":"a","status":{"code":"0"}}])",                                       // code a string
      R"([{"name":"a","status":{"code":0},"backup":{}}])",                             // backup not a list
      R"([{"name":"a","status":{"code":0},"backup":[{"label":"x","type":"full"}]}])",  // no timestamp
      // start a string
      R"([{"name":"a","status":{"code":0},"backup":[{"label":"x","type":"full","timestamp":{"start":"1","stop":2},)"
      R"("info":{"size":1,"delta":1,"repository":{"size":1,"delta":1}}}]}])",
      // a negative size
      R"([{"name":"a","status":{"code":0},"backup":[{"label":"x","type":"full","timestamp":{"start":1,"stop":2},)"
      R"("info":{"size":-1,"delta":1,"repository":{"size":1,"delta":1}}}]}])",
      // an archive bound that is not a segment name
      R"([{"name":"a","status":{"code":0},"archive":[{"database":{"id":1},"min":5}],"db":[{"id":1}]}])",
  };
  for (const char* text : bad) {
    Result<std::vector<BackrestStanzaInfo>> parsed = ParseBackrestInfo(text);
    EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption) << text;  // kOk when it parsed
  }
  Result<std::vector<BackrestStanzaInfo>> none = ParseBackrestInfo("[]");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace annex::database
