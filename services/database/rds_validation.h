#pragma once
// RDS parameter validation for postgres instances, with RDS's error codes and
// messages, so that a client (the AWS CLI, boto3, Terraform) refused by the
// appliance sees what RDS would have told it. Each check returns OK or a
// Status whose subcode is the RDS error code (InvalidParameterValue,
// InvalidParameterCombination, StorageTypeNotSupported); http::RenderQueryError
// turns it into <ErrorResponse><Error><Type>Sender</Type><Code>…</Code>
// <Message>…</Message></Error>…</ErrorResponse> with kRdsErrors' HTTP status.
//
// The rules are the constraints of botocore's RDS model documentation
// (data/rds/2014-10-31/service-2.json, CreateDBInstanceMessage and friends)
// for RDS for PostgreSQL. The messages are RDS's where its wording is known;
// rds_validation_test.cc pins each one.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/core/status.h"

namespace annex::database {

// The only engine the appliance runs.
inline constexpr std::string_view kPostgresEngine = "postgres";

// A Status carrying RDS's InvalidParameterValue code and `message`.
Status InvalidParameterValue(std::string message);
// A Status carrying RDS's InvalidParameterCombination code and `message`.
Status InvalidParameterCombination(std::string message);

// Identifiers as RDS stores them: lowercased (DBInstanceIdentifier "MyDB" is
// "mydb" from then on, and finds the same instance).
std::string NormalizeIdentifier(std::string_view id);

// 1-63 ASCII letters, digits and hyphens; starts with a letter; no trailing
// hyphen and no "--". `parameter` names the parameter in the message
// (SourceDBInstanceIdentifier, ...).
Status ValidateDBInstanceIdentifier(std::string_view id, std::string_view parameter = "DBInstanceIdentifier");
// The same rules, 1-255 characters (DBSnapshotIdentifier, TargetDBSnapshotIdentifier,
// FinalDBSnapshotIdentifier).
Status ValidateDBSnapshotIdentifier(std::string_view id, std::string_view parameter = "DBSnapshotIdentifier");

// A class the appliance offers (instance_classes.h), spelled as RDS spells it.
Status ValidateDBInstanceClass(std::string_view instance_class);

// postgres master user: 1-63 letters, digits and underscores, starting with a
// letter; not a PostgreSQL reserved key word, not a role RDS keeps for itself
// (rdsadmin, admin, ...), no "pg_" or "rds_" prefix. "postgres" is allowed: it
// is the console's default.
Status ValidateMasterUsername(std::string_view username);

// 8-128 printable ASCII characters other than '/', '"', '@' and space.
Status ValidateMasterPassword(std::string_view password);

// The database CreateDBInstance creates: 1-63 letters, digits and underscores,
// starting with a letter; not a reserved key word, template0/1 or rdsadmin.
Status ValidateDBName(std::string_view db_name);

// 1150-65535.
Status ValidatePort(int64_t port);

// gp2, gp3, io1, io2 or standard.
Status ValidateStorageType(std::string_view storage_type);
// GiB for `storage_type`: gp2/gp3 20-65536, io1/io2 100-65536, standard 5-3072.
Status ValidateAllocatedStorage(int64_t gib, std::string_view storage_type);

// 0 (no automated backups) to 35 days.
Status ValidateBackupRetentionPeriod(int64_t days);

// A parsed PreferredBackupWindow, "hh24:mi-hh24:mi" UTC, in minutes after
// midnight. A window that crosses midnight ends after 1440.
struct DailyWindow {
  int start = 0;
  int end = 0;
};
// A parsed PreferredMaintenanceWindow, "ddd:hh24:mi-ddd:hh24:mi" UTC, in
// minutes after Monday 00:00. A window that crosses Sunday midnight ends
// after 10080.
struct WeeklyWindow {
  int start = 0;
  int end = 0;
};

// The window, or InvalidParameterValue for a malformed one or one shorter
// than 30 minutes.
Result<DailyWindow> ParseBackupWindow(std::string_view window);
// The window (days case-insensitive: "Mon" or "mon"), or InvalidParameterValue
// for a malformed one, one shorter than 30 minutes or one of 24 hours or more.
Result<WeeklyWindow> ParseMaintenanceWindow(std::string_view window);
// ParseBackupWindow's verdict alone.
Status ValidateBackupWindow(std::string_view window);
// ParseMaintenanceWindow's verdict alone.
Status ValidateMaintenanceWindow(std::string_view window);
// The maintenance window as RDS stores and shows it: days lowercased.
std::string NormalizeMaintenanceWindow(std::string_view window);
// InvalidParameterValue when the daily backup window shares a minute with the
// weekly maintenance window on any day (windows that only touch are fine).
// Both must be valid.
Status ValidateWindowsDoNotOverlap(std::string_view backup_window, std::string_view maintenance_window);

// "postgres"; anything else is refused as RDS refuses an unknown engine.
Status ValidateEngine(std::string_view engine);

// The engine version an instance created with EngineVersion=`requested` runs:
// always `installed` (the Debian PostgreSQL package's version, e.g. "15.8"),
// the only one the appliance has. Accepted requests are those RDS takes for a
// 15.x instance that the installed minor serves: "" (the default), the major
// version alone ("15"), and "15.N" for RDS's 15 minors up to the installed
// one (15.2, RDS's first, to 15.8 for "15.8"). Others get RDS's
// InvalidParameterCombination "Cannot find version … for postgres".
Result<std::string> ResolveEngineVersion(std::string_view requested, std::string_view installed);

// One tag of a Tags/TagList parameter.
struct TagInput {
  std::string key;
  std::string value;
};
// At most 50 tags; keys 1-128 characters not starting with "aws:" or "rds:";
// values 0-256 characters; both of Unicode letters, digits and white space
// and _ . : / = + - @ (lengths in characters, not bytes).
Status ValidateTags(std::span<const TagInput> tags);

}  // namespace annex::database
