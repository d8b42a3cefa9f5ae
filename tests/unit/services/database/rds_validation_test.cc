#include "services/database/rds_validation.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "appliance/http/api_error.h"
#include "services/database/rds_errors.h"

namespace annex::database {
namespace {

// "OK", or the error's RDS code and message.
std::string Verdict(const Status& s) { return s.ok() ? "OK" : s.subcode() + ": " + s.message(); }

std::string Value(const std::string& m) { return "InvalidParameterValue: " + m; }
std::string Combination(const std::string& m) { return "InvalidParameterCombination: " + m; }

const std::string kNotIdentifier =
    " is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, "
    "and hyphens; and must not end with a hyphen or contain two consecutive hyphens.";

TEST(RdsValidationTest, ErrorsRenderAsQueryErrorsWithRdsStatus) {
  Status s = ValidateEngine("mysql");
  http::ApiError e = http::ApiErrorFromStatus(s, kRdsErrors);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.code, "InvalidParameterValue");
  http::Response r = http::RenderQueryError(e, "req-1");
  EXPECT_EQ(r.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>Sender</Type>"
            "<Code>InvalidParameterValue</Code><Message>Invalid DB engine: mysql</Message></Error>"
            "<RequestId>req-1</RequestId></ErrorResponse>");
  EXPECT_EQ(http::HttpStatusForCode("DBInstanceNotFound", kRdsErrors), 404);
  EXPECT_EQ(http::HttpStatusForCode("InvalidParameterCombination", kRdsErrors), 400);
  EXPECT_EQ(http::HttpStatusForCode("DBClusterQuotaExceededFault", kRdsErrors), 403);
}

TEST(RdsValidationTest, ErrorTableIsSortedAndUnique) {
  for (size_t i = 1; i < kRdsErrors.size(); ++i) EXPECT_LT(kRdsErrors[i - 1].code, kRdsErrors[i].code);
}

TEST(RdsValidationTest, DBInstanceIdentifier) {
  for (const std::string& ok : std::vector<std::string>{"a", "mydb", "My-DB-1", "db-0", std::string(63, 'a')}) {
    EXPECT_EQ(Verdict(ValidateDBInstanceIdentifier(ok)), "OK") << ok;
  }
  for (const char* bad : {"1db", "-db", "db-", "my--db", "my_db", "my.db", "dé", "db 1"}) {
    EXPECT_EQ(Verdict(ValidateDBInstanceIdentifier(bad)), Value("The parameter DBInstanceIdentifier" + kNotIdentifier))
        << bad;
  }
  EXPECT_EQ(Verdict(ValidateDBInstanceIdentifier(std::string(64, 'a'))),
            Value("The parameter DBInstanceIdentifier is not a valid identifier because it is longer than 63 "
                  "characters."));
  EXPECT_EQ(Verdict(ValidateDBInstanceIdentifier("")),
            Value("The parameter DBInstanceIdentifier must be provided and must not be blank."));
  EXPECT_EQ(Verdict(ValidateDBInstanceIdentifier("x--", "SourceDBInstanceIdentifier")),
            Value("The parameter SourceDBInstanceIdentifier" + kNotIdentifier));
  EXPECT_EQ(NormalizeIdentifier("My-DB-1"), "my-db-1");
}

TEST(RdsValidationTest, DBSnapshotIdentifier) {
  EXPECT_EQ(Verdict(ValidateDBSnapshotIdentifier(std::string(255, 's'))), "OK");
  EXPECT_EQ(Verdict(ValidateDBSnapshotIdentifier("rds:mydb-2026-01-01")),
            Value("The parameter DBSnapshotIdentifier" + kNotIdentifier));
  EXPECT_EQ(Verdict(ValidateDBSnapshotIdentifier(std::string(256, 's'))),
            Value("The parameter DBSnapshotIdentifier is not a valid identifier because it is longer than 255 "
                  "characters."));
  EXPECT_EQ(Verdict(ValidateDBSnapshotIdentifier("final-", "FinalDBSnapshotIdentifier")),
            Value("The parameter FinalDBSnapshotIdentifier" + kNotIdentifier));
}

TEST(RdsValidationTest, DBInstanceClass) {
  EXPECT_EQ(Verdict(ValidateDBInstanceClass("db.t3.micro")), "OK");
  EXPECT_EQ(Verdict(ValidateDBInstanceClass("db.t1.micro")), Value("Invalid DB Instance class: db.t1.micro"));
  EXPECT_EQ(Verdict(ValidateDBInstanceClass("t3.micro")), Value("Invalid DB Instance class: t3.micro"));
}

TEST(RdsValidationTest, MasterUsername) {
  for (const char* ok : {"postgres", "dbadmin", "app_user", "A1", "Administrator", "rdsuser"}) {
    EXPECT_EQ(Verdict(ValidateMasterUsername(ok)), "OK") << ok;
  }
  EXPECT_EQ(Verdict(ValidateMasterUsername(std::string(63, 'u'))), "OK");
  const std::string bad_form =
      Value("MasterUsername must begin with a letter and contain only alphanumeric characters or underscores.");
  for (const char* bad : {"1user", "_user", "app-user", "app user", "usér"}) {
    EXPECT_EQ(Verdict(ValidateMasterUsername(bad)), bad_form) << bad;
  }
  EXPECT_EQ(Verdict(ValidateMasterUsername(std::string(64, 'u'))), bad_form);
  for (const char* reserved : {"admin", "rdsadmin", "user", "select", "SELECT", "public", "pg_monitor", "rds_iam"}) {
    EXPECT_EQ(Verdict(ValidateMasterUsername(reserved)),
              Value("MasterUsername " + std::string(reserved) +
                    " cannot be used as it is a reserved word used by the engine"))
        << reserved;
  }
  EXPECT_EQ(Verdict(ValidateMasterUsername("")),
            Value("The parameter MasterUsername must be provided and must not be blank."));
}

TEST(RdsValidationTest, MasterPassword) {
  EXPECT_EQ(Verdict(ValidateMasterPassword("hunter22")), "OK");
  EXPECT_EQ(Verdict(ValidateMasterPassword("P4ss!#$%^&*()_+-=[]{}|;':,.<>?`~\\")), "OK");
  EXPECT_EQ(Verdict(ValidateMasterPassword(std::string(128, 'p'))), "OK");
  EXPECT_EQ(Verdict(ValidateMasterPassword("hunter2")),
            Value("The parameter MasterUserPassword is not a valid password because it is shorter than 8 "
                  "characters."));
  EXPECT_EQ(Verdict(ValidateMasterPassword(std::string(129, 'p'))),
            Value("The parameter MasterUserPassword is not a valid password because it is longer than 128 "
                  "characters."));
  const std::string bad_chars = Value(
      "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', "
      "'\"', ' ' may be used.");
  for (const char* bad : {"pass/word", "pass@word", "pass\"word", "pass word", "pass\tword", "passwörd"}) {
    EXPECT_EQ(Verdict(ValidateMasterPassword(bad)), bad_chars) << bad;
  }
  EXPECT_EQ(Verdict(ValidateMasterPassword("")),
            Value("The parameter MasterUserPassword must be provided and must not be blank."));
}

TEST(RdsValidationTest, DBName) {
  for (const std::string& ok : std::vector<std::string>{"app", "App_1", "postgres", std::string(63, 'd')}) {
    EXPECT_EQ(Verdict(ValidateDBName(ok)), "OK") << ok;
  }
  const std::string bad_form = Value("DBName must begin with a letter and contain only alphanumeric characters.");
  const std::vector<std::string> bad_names = {"", "1app", "_app", "my-app", "my app", std::string(64, 'd')};
  for (const std::string& bad : bad_names) {
    EXPECT_EQ(Verdict(ValidateDBName(bad)), bad_form) << bad;
  }
  for (const char* reserved : {"select", "Table", "template1", "rdsadmin"}) {
    EXPECT_EQ(Verdict(ValidateDBName(reserved)),
              Value("DBName " + std::string(reserved) + " cannot be used as it is a reserved word used by the engine"))
        << reserved;
  }
}

TEST(RdsValidationTest, Port) {
  EXPECT_EQ(Verdict(ValidatePort(5432)), "OK");
  EXPECT_EQ(Verdict(ValidatePort(1150)), "OK");
  EXPECT_EQ(Verdict(ValidatePort(65535)), "OK");
  EXPECT_EQ(Verdict(ValidatePort(1149)), Value("Invalid port 1149. The port must be between 1150 and 65535."));
  EXPECT_EQ(Verdict(ValidatePort(65536)), Value("Invalid port 65536. The port must be between 1150 and 65535."));
  EXPECT_EQ(Verdict(ValidatePort(-1)), Value("Invalid port -1. The port must be between 1150 and 65535."));
}

TEST(RdsValidationTest, StorageTypeAndAllocatedStorage) {
  for (const char* t : {"gp2", "gp3", "io1", "io2", "standard"}) EXPECT_EQ(Verdict(ValidateStorageType(t)), "OK");
  EXPECT_EQ(Verdict(ValidateStorageType("GP2")), "StorageTypeNotSupported: Invalid storage type: GP2");
  EXPECT_EQ(Verdict(ValidateStorageType("aurora")), "StorageTypeNotSupported: Invalid storage type: aurora");

  struct Case {
    const char* type;
    int64_t min, max;
  };
  for (Case c : {Case{"gp2", 20, 65536}, Case{"gp3", 20, 65536}, Case{"io1", 100, 65536}, Case{"io2", 100, 65536},
                 Case{"standard", 5, 3072}}) {
    EXPECT_EQ(Verdict(ValidateAllocatedStorage(c.min, c.type)), "OK") << c.type;
    EXPECT_EQ(Verdict(ValidateAllocatedStorage(c.max, c.type)), "OK") << c.type;
    for (int64_t bad : {c.min - 1, c.max + 1}) {
      EXPECT_EQ(Verdict(ValidateAllocatedStorage(bad, c.type)),
                Combination("Invalid storage size for engine name postgres and storage type " + std::string(c.type) +
                            ": " + std::to_string(bad)));
    }
  }
  EXPECT_EQ(Verdict(ValidateAllocatedStorage(20, "ssd")), "StorageTypeNotSupported: Invalid storage type: ssd");
}

TEST(RdsValidationTest, BackupRetentionPeriod) {
  EXPECT_EQ(Verdict(ValidateBackupRetentionPeriod(0)), "OK");
  EXPECT_EQ(Verdict(ValidateBackupRetentionPeriod(35)), "OK");
  EXPECT_EQ(Verdict(ValidateBackupRetentionPeriod(36)),
            Value("Invalid backup retention period: 36. Retention period must be between 0 and 35."));
  EXPECT_EQ(Verdict(ValidateBackupRetentionPeriod(-1)),
            Value("Invalid backup retention period: -1. Retention period must be between 0 and 35."));
}

TEST(RdsValidationTest, BackupWindow) {
  auto w = ParseBackupWindow("03:15-03:45");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->start, 195);
  EXPECT_EQ(w->end, 225);
  w = ParseBackupWindow("23:45-00:15");  // across midnight
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->start, 1425);
  EXPECT_EQ(w->end, 1455);
  EXPECT_EQ(Verdict(ValidateBackupWindow("00:00-23:59")), "OK");

  auto bad_time = [](const std::string& t) {
    return Value("Invalid backup window time '" + t +
                 "' specified. Should be specified as a time hh24:mi (24H Clock UTC). Example: 03:15");
  };
  EXPECT_EQ(Verdict(ValidateBackupWindow("25:00-26:00")), bad_time("25:00"));
  EXPECT_EQ(Verdict(ValidateBackupWindow("0700-0730")), bad_time("0700"));
  EXPECT_EQ(Verdict(ValidateBackupWindow("07:00-7:30")), bad_time("7:30"));
  EXPECT_EQ(Verdict(ValidateBackupWindow("07:00")), bad_time("07:00"));
  EXPECT_EQ(Verdict(ValidateBackupWindow("mon:07:00-mon:07:30")), bad_time("mon:07:00"));
  EXPECT_EQ(Verdict(ValidateBackupWindow("07:00-07:29")), Value("Backup window must be at least 30 minutes."));
  EXPECT_EQ(Verdict(ValidateBackupWindow("23:50-00:10")), Value("Backup window must be at least 30 minutes."));
}

TEST(RdsValidationTest, MaintenanceWindow) {
  auto w = ParseMaintenanceWindow("Tue:04:00-tue:04:30");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->start, 1440 + 240);
  EXPECT_EQ(w->end, 1440 + 270);
  w = ParseMaintenanceWindow("sun:23:30-mon:00:30");  // across the week's end
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->start, 6 * 1440 + 1410);
  EXPECT_EQ(w->end, 7 * 1440 + 30);
  EXPECT_EQ(NormalizeMaintenanceWindow("Sun:23:30-Mon:00:30"), "sun:23:30-mon:00:30");

  auto bad_time = [](const std::string& t) {
    return Value("Invalid maintenance window time '" + t +
                 "' specified. Should be specified as a time ddd:hh24:mi (24H Clock UTC). Example: Mon:00:15");
  };
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("xxx:00:00-xxx:01:00")), bad_time("xxx:00:00"));
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("mon:00:00-mon:24:00")), bad_time("mon:24:00"));
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("04:00-04:30")), bad_time("04:00"));
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("monday:04:00-monday:04:30")), bad_time("monday:04:00"));
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("mon:04:00-mon:04:10")),
            Value("Maintenance window must be at least 30 minutes."));
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("mon:04:00-tue:04:00")),
            Value("Maintenance window must be less than 24 hours."));
  EXPECT_EQ(Verdict(ValidateMaintenanceWindow("mon:04:00-tue:03:59")), "OK");
}

TEST(RdsValidationTest, WindowsMustNotOverlap) {
  const std::string overlap = Value("The backup window and maintenance window must not overlap.");
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("02:00-02:30", "tue:02:15-tue:02:45")), overlap);
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("02:00-02:30", "tue:02:30-tue:03:00")), "OK");  // touching
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("02:00-02:30", "tue:01:30-tue:02:00")), "OK");
  // The daily window recurs on every day, the weekly one may cross the week's end.
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("00:00-00:30", "sun:23:45-mon:00:15")), overlap);
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("23:45-00:15", "mon:00:00-mon:00:30")), overlap);
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("23:45-00:15", "wed:00:15-wed:01:00")), "OK");
  // Either window malformed: its own error.
  EXPECT_EQ(Verdict(ValidateWindowsDoNotOverlap("02:00-02:10", "tue:05:00-tue:06:00")),
            Value("Backup window must be at least 30 minutes."));
}

TEST(RdsValidationTest, Engine) {
  EXPECT_EQ(Verdict(ValidateEngine("postgres")), "OK");
  for (const char* other : {"mysql", "aurora-postgresql", "postgresql", "Postgres", ""}) {
    EXPECT_EQ(Verdict(ValidateEngine(other)), Value("Invalid DB engine: " + std::string(other))) << other;
  }
}

TEST(RdsValidationTest, EngineVersionResolvesToTheInstalledOne) {
  for (const char* ok : {"", "15", "15.2", "15.8", "15.18"}) {
    auto v = ResolveEngineVersion(ok, "15.18");
    ASSERT_TRUE(v.ok()) << ok << ": " << v.status().message();
    EXPECT_EQ(*v, "15.18");
  }
  for (const char* bad : {"15.19", "15.1", "15.0", "15.08", "15.x", "15.", "14", "14.10", "16.1", "9.6", "15.8.1"}) {
    EXPECT_EQ(Verdict(ResolveEngineVersion(bad, "15.18").status()),
              Combination("Cannot find version " + std::string(bad) + " for postgres"))
        << bad;
  }
}

TEST(RdsValidationTest, Tags) {
  std::vector<TagInput> tags = {{"env", "prod"}, {"team", ""}, {"a.b:c/d=e+f-g@h_i j", "ünïcödé value"}};
  EXPECT_EQ(Verdict(ValidateTags(tags)), "OK");
  tags = {{std::string(128, 'k'), std::string(256, 'v')}, {"ключ", std::string(128, 'x') + "é"}};
  EXPECT_EQ(Verdict(ValidateTags(tags)), "OK");

  std::vector<TagInput> many(50, TagInput{"k", "v"});
  EXPECT_EQ(Verdict(ValidateTags(many)), "OK");
  many.push_back({"k", "v"});
  EXPECT_EQ(Verdict(ValidateTags(many)), Value("Cannot add more than 50 tags to a resource."));

  const std::string bad_key = Value(
      "Invalid tag key: the key must be 1 to 128 Unicode letters, digits, white space, or _ . : / = + - @ "
      "characters.");
  for (const std::string& key : {std::string(), std::string(129, 'k'), std::string("a*b"), std::string("a\tb")}) {
    EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{key, "v"}})), bad_key) << key;
  }
  EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{"aws:cloudformation:stack", "v"}})),
            Value("Tag keys cannot start with the reserved prefix \"aws:\"."));
  EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{"AWS:x", "v"}})),
            Value("Tag keys cannot start with the reserved prefix \"aws:\"."));
  EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{"rds:x", "v"}})),
            Value("Tag keys cannot start with the reserved prefix \"rds:\"."));
  const std::string bad_value = Value(
      "Invalid tag value: the value must be 0 to 256 Unicode letters, digits, white space, or _ . : / = + - @ "
      "characters.");
  EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{"k", std::string(257, 'v')}})), bad_value);
  EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{"k", "50%"}})), bad_value);
  EXPECT_EQ(Verdict(ValidateTags(std::vector<TagInput>{{"k", "\xff"}})), bad_value);
}

}  // namespace
}  // namespace annex::database
