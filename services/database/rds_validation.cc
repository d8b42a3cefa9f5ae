#include "services/database/rds_validation.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "appliance/core/strings.h"
#include "services/database/instance_classes.h"

namespace annex::database {
namespace {

// PostgreSQL 15's reserved key words, pg_get_keywords() catcode R and T (those
// that can be a function or type name). A role or database named one of them
// needs quoting everywhere, which RDS refuses to make its users do.
// clang-format off
constexpr auto kPostgresReservedWords = std::to_array<std::string_view>({
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary", "both",
    "case", "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create", "cross",
    "current_catalog", "current_date", "current_role", "current_schema", "current_time", "current_timestamp",
    "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for",
    "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect",
    "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp",
    "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "placing",
    "primary", "references", "returning", "right", "select", "session_user", "similar", "some", "symmetric", "table",
    "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when",
    "where", "window", "with",
});
// clang-format on

// Roles RDS for PostgreSQL keeps for itself or that PostgreSQL refuses to
// create ("public", "none"); "admin" is refused by RDS for postgres.
constexpr auto kReservedUsernames =
    std::to_array<std::string_view>({"admin", "none", "public", "rdsadmin", "rdsrepladmin", "rdstopmgr"});
// Role name prefixes PostgreSQL (pg_) and RDS (rds_: rds_superuser, rds_iam ...) reserve.
constexpr auto kReservedUsernamePrefixes = std::to_array<std::string_view>({"pg_", "rds_"});

// Databases that exist on every RDS postgres instance and cannot be created again.
constexpr auto kReservedDatabases = std::to_array<std::string_view>({"rdsadmin", "template0", "template1"});

constexpr std::string_view kIdentifierRule =
    "Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end "
    "with a hyphen or contain two consecutive hyphens.";

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMinutesPerWeek = 7 * kMinutesPerDay;
constexpr int kMinWindowMinutes = 30;
constexpr auto kDays = std::to_array<std::string_view>({"mon", "tue", "wed", "thu", "fri", "sat", "sun"});

// RDS's first PostgreSQL 15 release was 15.2.
constexpr int64_t kFirstRdsPostgres15Minor = 2;

constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagKeyChars = 128;
constexpr size_t kMaxTagValueChars = 256;

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

template <size_t N>
bool Contains(const std::array<std::string_view, N>& words, std::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// The shared rule of instance and snapshot identifiers, lengths apart.
Status ValidateIdentifier(std::string_view id, std::string_view parameter, size_t max_length) {
  const std::string p(parameter);
  if (id.empty()) return InvalidParameterValue("The parameter " + p + " must be provided and must not be blank.");
  if (id.size() > max_length) {
    return InvalidParameterValue("The parameter " + p + " is not a valid identifier because it is longer than " +
                                 std::to_string(max_length) + " characters.");
  }
  auto allowed = [](char c) { return IsAsciiLetter(c) || IsAsciiDigit(c) || c == '-'; };
  bool valid = IsAsciiLetter(id.front()) && id.back() != '-' && id.find("--") == std::string_view::npos &&
               std::all_of(id.begin(), id.end(), allowed);
  if (!valid) {
    return InvalidParameterValue("The parameter " + p + " is not a valid identifier. " + std::string(kIdentifierRule));
  }
  return Status::OK();
}

// Letters, digits and underscores, starting with a letter, at most 63 long:
// PostgreSQL's unquoted identifiers (NAMEDATALEN - 1), ASCII only.
bool IsPlainPostgresName(std::string_view name) {
  return !name.empty() && name.size() <= 63 && IsAsciiLetter(name.front()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsAsciiLetter(c) || IsAsciiDigit(c) || c == '_'; });
}

std::optional<int64_t> ParseSmallInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || s.size() > 9) return std::nullopt;
  return v;
}

// "hh24:mi" as minutes after midnight; nullopt unless exactly two digits each.
std::optional<int> MinuteOfDay(std::string_view time) {
  if (time.size() != 5 || time[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (!IsAsciiDigit(time[i])) return std::nullopt;
  }
  int hours = (time[0] - '0') * 10 + (time[1] - '0');
  int minutes = (time[3] - '0') * 10 + (time[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

// "ddd:hh24:mi" as minutes after Monday 00:00.
std::optional<int> MinuteOfWeek(std::string_view day_time) {
  if (day_time.size() < 4 || day_time[3] != ':') return std::nullopt;
  auto day = std::find(kDays.begin(), kDays.end(), ToLower(day_time.substr(0, 3)));
  if (day == kDays.end()) return std::nullopt;
  auto minute = MinuteOfDay(day_time.substr(4));
  if (!minute) return std::nullopt;
  return static_cast<int>(day - kDays.begin()) * kMinutesPerDay + *minute;
}

Status InvalidBackupTime(std::string_view time) {
  return InvalidParameterValue("Invalid backup window time '" + std::string(time) +
                               "' specified. Should be specified as a time hh24:mi (24H Clock UTC). Example: 03:15");
}

Status InvalidMaintenanceTime(std::string_view time) {
  return InvalidParameterValue("Invalid maintenance window time '" + std::string(time) +
                               "' specified. Should be specified as a time ddd:hh24:mi (24H Clock UTC). "
                               "Example: Mon:00:15");
}

// Decodes one UTF-8 character at `s[i]`, advancing `i`; U+FFFD for a bad byte.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80) return c;
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len - 1 > s.size()) return 0xFFFD;
  char32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i]);
    if ((cc & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (cc & 0x3F);
    ++i;
  }
  return cp;
}

// The tag character rule ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ and the length in
// characters. ASCII is judged exactly; every other character except the C1
// controls and U+FFFD (bad UTF-8) is taken as a letter, digit or separator:
// nearly all of them are, and a table of Unicode categories is not worth
// refusing the rare symbol RDS would refuse too.
bool TagTextValid(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    char32_t cp = NextCodePoint(text, i);
    ++chars;
    if (cp < 0x80) {
      char c = static_cast<char>(cp);
      bool ok = IsAsciiLetter(c) || IsAsciiDigit(c) || c == ' ' || c == '_' || c == '.' || c == ':' || c == '/' ||
                c == '=' || c == '+' || c == '-' || c == '@';
      if (!ok) return false;
    } else if (cp < 0xA0 || cp == 0xFFFD) {
      return false;
    }
  }
  return chars <= max_chars;
}

}  // namespace

Status InvalidParameterValue(std::string message) {
  return {StatusCode::kInvalidArgument, std::move(message), "InvalidParameterValue"};
}

Status InvalidParameterCombination(std::string message) {
  return {StatusCode::kInvalidArgument, std::move(message), "InvalidParameterCombination"};
}

std::string NormalizeIdentifier(std::string_view id) { return ToLower(id); }

Status ValidateDBInstanceIdentifier(std::string_view id, std::string_view parameter) {
  return ValidateIdentifier(id, parameter, 63);
}

Status ValidateDBSnapshotIdentifier(std::string_view id, std::string_view parameter) {
  return ValidateIdentifier(id, parameter, 255);
}

Status ValidateDBInstanceClass(std::string_view instance_class) {
  if (FindInstanceClass(instance_class)) return Status::OK();
  return InvalidParameterValue("Invalid DB Instance class: " + std::string(instance_class));
}

Status ValidateMasterUsername(std::string_view username) {
  if (username.empty()) {
    return InvalidParameterValue("The parameter MasterUsername must be provided and must not be blank.");
  }
  if (!IsPlainPostgresName(username)) {
    return InvalidParameterValue(
        "MasterUsername must begin with a letter and contain only alphanumeric characters or underscores.");
  }
  std::string lower = ToLower(username);
  bool reserved = Contains(kPostgresReservedWords, lower) || Contains(kReservedUsernames, lower) ||
                  std::any_of(kReservedUsernamePrefixes.begin(), kReservedUsernamePrefixes.end(),
                              [&](std::string_view prefix) { return StartsWith(lower, prefix); });
  if (reserved) {
    return InvalidParameterValue("MasterUsername " + std::string(username) +
                                 " cannot be used as it is a reserved word used by the engine");
  }
  return Status::OK();
}

Status ValidateMasterPassword(std::string_view password) {
  if (password.empty()) {
    return InvalidParameterValue("The parameter MasterUserPassword must be provided and must not be blank.");
  }
  if (password.size() < 8) {
    return InvalidParameterValue(
        "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.");
  }
  if (password.size() > 128) {
    return InvalidParameterValue(
        "The parameter MasterUserPassword is not a valid password because it is longer than 128 characters.");
  }
  bool printable = std::all_of(password.begin(), password.end(),
                               [](char c) { return c > ' ' && c <= '~' && c != '/' && c != '@' && c != '"'; });
  if (!printable) {
    return InvalidParameterValue(
        "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', "
        "'@', '\"', ' ' may be used.");
  }
  return Status::OK();
}

Status ValidateDBName(std::string_view db_name) {
  if (!IsPlainPostgresName(db_name)) {
    return InvalidParameterValue("DBName must begin with a letter and contain only alphanumeric characters.");
  }
  std::string lower = ToLower(db_name);
  if (Contains(kPostgresReservedWords, lower) || Contains(kReservedDatabases, lower)) {
    return InvalidParameterValue("DBName " + std::string(db_name) +
                                 " cannot be used as it is a reserved word used by the engine");
  }
  return Status::OK();
}

Status ValidatePort(int64_t port) {
  if (port >= 1150 && port <= 65535) return Status::OK();
  return InvalidParameterValue("Invalid port " + std::to_string(port) + ". The port must be between 1150 and 65535.");
}

Status ValidateStorageType(std::string_view storage_type) {
  static constexpr auto kTypes = std::to_array<std::string_view>({"gp2", "gp3", "io1", "io2", "standard"});
  if (Contains(kTypes, storage_type)) return Status::OK();
  return {StatusCode::kInvalidArgument, "Invalid storage type: " + std::string(storage_type),
          "StorageTypeNotSupported"};
}

Status ValidateAllocatedStorage(int64_t gib, std::string_view storage_type) {
  ANNEX_RETURN_IF_ERROR(ValidateStorageType(storage_type));
  int64_t min = 20, max = 65536;
  if (storage_type == "io1" || storage_type == "io2") min = 100;
  if (storage_type == "standard") min = 5, max = 3072;
  if (gib >= min && gib <= max) return Status::OK();
  return InvalidParameterCombination("Invalid storage size for engine name postgres and storage type " +
                                     std::string(storage_type) + ": " + std::to_string(gib));
}

Status ValidateBackupRetentionPeriod(int64_t days) {
  if (days >= 0 && days <= 35) return Status::OK();
  return InvalidParameterValue("Invalid backup retention period: " + std::to_string(days) +
                               ". Retention period must be between 0 and 35.");
}

Result<DailyWindow> ParseBackupWindow(std::string_view window) {
  size_t dash = window.find('-');
  if (dash == std::string_view::npos || window.find('-', dash + 1) != std::string_view::npos) {
    return InvalidBackupTime(window);
  }
  std::string_view from = window.substr(0, dash), to = window.substr(dash + 1);
  auto start = MinuteOfDay(from);
  if (!start) return InvalidBackupTime(from);
  auto end = MinuteOfDay(to);
  if (!end) return InvalidBackupTime(to);
  DailyWindow w{*start, *end <= *start ? *end + kMinutesPerDay : *end};
  if (w.end - w.start < kMinWindowMinutes) return InvalidParameterValue("Backup window must be at least 30 minutes.");
  return w;
}

Result<WeeklyWindow> ParseMaintenanceWindow(std::string_view window) {
  // The days' colons make '-' the only separator: "mon:03:00-mon:03:30".
  size_t dash = window.find('-');
  if (dash == std::string_view::npos || window.find('-', dash + 1) != std::string_view::npos) {
    return InvalidMaintenanceTime(window);
  }
  std::string_view from = window.substr(0, dash), to = window.substr(dash + 1);
  auto start = MinuteOfWeek(from);
  if (!start) return InvalidMaintenanceTime(from);
  auto end = MinuteOfWeek(to);
  if (!end) return InvalidMaintenanceTime(to);
  WeeklyWindow w{*start, *end <= *start ? *end + kMinutesPerWeek : *end};
  if (w.end - w.start < kMinWindowMinutes) {
    return InvalidParameterValue("Maintenance window must be at least 30 minutes.");
  }
  if (w.end - w.start >= kMinutesPerDay) return InvalidParameterValue("Maintenance window must be less than 24 hours.");
  return w;
}

Status ValidateBackupWindow(std::string_view window) { return ParseBackupWindow(window).status(); }

Status ValidateMaintenanceWindow(std::string_view window) { return ParseMaintenanceWindow(window).status(); }

std::string NormalizeMaintenanceWindow(std::string_view window) { return ToLower(window); }

Status ValidateWindowsDoNotOverlap(std::string_view backup_window, std::string_view maintenance_window) {
  ANNEX_ASSIGN_OR_RETURN(DailyWindow backup, ParseBackupWindow(backup_window));
  ANNEX_ASSIGN_OR_RETURN(WeeklyWindow maintenance, ParseMaintenanceWindow(maintenance_window));
  // The backup window recurs every day; either window may run past the end
  // of the week, so the maintenance window is compared in this week and the
  // weeks either side.
  for (int day = 0; day < 7; ++day) {
    int start = day * kMinutesPerDay + backup.start, end = day * kMinutesPerDay + backup.end;
    for (int shift : {-kMinutesPerWeek, 0, kMinutesPerWeek}) {
      if (start < maintenance.end + shift && maintenance.start + shift < end) {
        return InvalidParameterValue("The backup window and maintenance window must not overlap.");
      }
    }
  }
  return Status::OK();
}

Status ValidateEngine(std::string_view engine) {
  if (engine == kPostgresEngine) return Status::OK();
  return InvalidParameterValue("Invalid DB engine: " + std::string(engine));
}

Result<std::string> ResolveEngineVersion(std::string_view requested, std::string_view installed) {
  size_t dot = installed.find('.');
  std::string_view installed_major = installed.substr(0, dot);
  auto installed_minor = dot == std::string_view::npos ? std::nullopt : ParseSmallInt(installed.substr(dot + 1));
  if (requested.empty() || requested == installed_major) return std::string(installed);
  size_t rdot = requested.find('.');
  if (installed_minor && rdot != std::string_view::npos && requested.substr(0, rdot) == installed_major) {
    auto minor = ParseSmallInt(requested.substr(rdot + 1));
    bool canonical = minor && std::to_string(*minor) == requested.substr(rdot + 1);
    if (canonical && *minor >= kFirstRdsPostgres15Minor && *minor <= *installed_minor) return std::string(installed);
  }
  return InvalidParameterCombination("Cannot find version " + std::string(requested) + " for postgres");
}

Status ValidateTags(std::span<const TagInput> tags) {
  if (tags.size() > kMaxTags) {
    return InvalidParameterValue("Cannot add more than 50 tags to a resource.");
  }
  for (const TagInput& tag : tags) {
    if (tag.key.empty() || !TagTextValid(tag.key, kMaxTagKeyChars)) {
      return InvalidParameterValue(
          "Invalid tag key: the key must be 1 to 128 Unicode letters, digits, white space, "
          "or _ . : / = + - @ characters.");
    }
    std::string lower = ToLower(tag.key);
    for (std::string_view prefix : {"aws:", "rds:"}) {
      if (StartsWith(lower, prefix)) {
        return InvalidParameterValue("Tag keys cannot start with the reserved prefix \"" + std::string(prefix) + "\".");
      }
    }
    if (!TagTextValid(tag.value, kMaxTagValueChars)) {
      return InvalidParameterValue(
          "Invalid tag value: the value must be 0 to 256 Unicode letters, digits, white "
          "space, or _ . : / = + - @ characters.");
    }
  }
  return Status::OK();
}

}  // namespace annex::database
