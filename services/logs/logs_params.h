#pragma once
// LogsParams: typed access to a Logs request's JSON members, answering as
// CloudWatch Logs does — a member of the wrong JSON type is a
// SerializationException, one that breaks a constraint of the model
// (required, length, pattern, range) an InvalidParameterException naming
// the member.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/core/result.h"
#include "appliance/logs/log_types.h"

namespace annex::logs {

using Json = nlohmann::json;

// A constraint on a string member: length in characters and allowed characters.
struct StringRule {
  size_t min = 0;
  size_t max = SIZE_MAX;
  std::function<bool(std::string_view)> valid;  // null: anything
  std::string_view pattern;                    // for the message, as the model writes it
};

// The model's rules for the names the API takes.
extern const StringRule kLogGroupNameRule;
extern const StringRule kLogStreamNameRule;
extern const StringRule kNextTokenRule;
extern const StringRule kArnRule;

Status InvalidParameter(std::string message);
Status SerializationError(std::string message);
// "1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: …"
Status ConstraintError(std::string_view member, std::string_view value, std::string_view constraint);

class LogsParams {
 public:
  // SerializationException unless `body` is a JSON object ("" counts as {}).
  // A `logEvents` array of {timestamp, message} objects is decoded straight
  // into LogEvents (TakeLogEvents); everything else goes into a JSON document.
  static Result<LogsParams> Parse(std::string_view body);

  Result<std::optional<std::string>> String(std::string_view name, const StringRule& rule = {}) const;
  Result<std::string> RequiredString(std::string_view name, const StringRule& rule = {}) const;
  Result<std::optional<int64_t>> Long(std::string_view name, int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  Result<std::optional<bool>> Bool(std::string_view name) const;
  // An array of strings, each checked against `rule`; count limits as the model's.
  Result<std::optional<std::vector<std::string>>> StringList(std::string_view name, size_t min_items,
                                                             size_t max_items, const StringRule& rule = {}) const;
  Result<std::optional<std::map<std::string, std::string>>> StringMap(std::string_view name) const;
  // The raw member, or null when absent.
  const Json* Member(std::string_view name) const;
  // `logEvents` when Parse decoded it itself (then Member("logEvents") is
  // null); nullopt otherwise. Once.
  std::optional<std::vector<LogEvent>> TakeLogEvents() { return std::exchange(log_events_, std::nullopt); }

 private:
  explicit LogsParams(Json doc, std::optional<std::vector<LogEvent>> log_events = std::nullopt)
      : doc_(std::move(doc)), log_events_(std::move(log_events)) {}
  static std::optional<LogsParams> ParseBulk(std::string_view body);
  Json doc_;
  std::optional<std::vector<LogEvent>> log_events_;
};

// Characters, not bytes, as the model counts lengths (invalid UTF-8 counts bytes).
size_t Utf8Length(std::string_view s);

}  // namespace annex::logs
