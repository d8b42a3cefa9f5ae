#include "services/logs/logs_params.h"

#include "appliance/core/json_scanner.h"
#include "appliance/http/api_error.h"

namespace annex::logs {
namespace {

bool ValidGroupName(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == '_' || c == '/' || c == '#';
    if (!ok) return false;
  }
  return true;
}

bool ValidStreamName(std::string_view s) { return s.find_first_of(":*") == std::string_view::npos; }

bool ValidArn(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("_+=/:,.@-#").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string Shorten(std::string_view value) {
  return value.size() > 100 ? std::string(value.substr(0, 100)) + "..." : std::string(value);
}

const char* TypeName(const Json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  return "null";
}

Status WrongType(std::string_view name, const Json& j, std::string_view want) {
  return SerializationError("Member '" + std::string(name) + "' must be " + std::string(want) + ", not " +
                            TypeName(j));
}

Status CheckString(std::string_view name, const std::string& v, const StringRule& rule) {
  size_t n = Utf8Length(v);
  if (n < rule.min) {
    return ConstraintError(name, v, "Member must have length greater than or equal to " + std::to_string(rule.min));
  }
  if (n > rule.max) {
    return ConstraintError(name, v, "Member must have length less than or equal to " + std::to_string(rule.max));
  }
  if (rule.valid && !rule.valid(v)) {
    return ConstraintError(name, v, "Member must satisfy regular expression pattern: " + std::string(rule.pattern));
  }
  return Status::OK();
}

}  // namespace

const StringRule kLogGroupNameRule{1, 512, ValidGroupName, "[\\.\\-_/#A-Za-z0-9]+"};
const StringRule kLogStreamNameRule{1, 512, ValidStreamName, "[^:*]*"};
const StringRule kNextTokenRule{1, 4096, nullptr, ""};
const StringRule kArnRule{1, 1011, ValidArn, "[\\w+=/:,.@-]*"};

Status InvalidParameter(std::string message) { return http::ApiStatus("InvalidParameterException", std::move(message)); }
Status SerializationError(std::string message) { return http::ApiStatus("SerializationException", std::move(message)); }

Status ConstraintError(std::string_view member, std::string_view value, std::string_view constraint) {
  return InvalidParameter("1 validation error detected: Value '" + Shorten(value) + "' at '" + std::string(member) +
                          "' failed to satisfy constraint: " + std::string(constraint));
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// A batch of log events is a megabyte of small strings: building nlohmann's
// DOM for it was half of annexd's CPU per PutLogEvents (docs/performance.md).
// The scanner reads the common shape only; anything else, including every
// error, takes the general path, which decides and words the answer.
std::optional<LogsParams> LogsParams::ParseBulk(std::string_view body) {
  JsonScanner scanner(body);
  if (!scanner.Consume('{')) return std::nullopt;
  Json doc = Json::object();
  std::optional<std::vector<LogEvent>> events;
  std::string key, member;
  auto read_events = [&](std::vector<LogEvent>& out) {
    if (!scanner.Consume('[')) return false;
    if (scanner.Consume(']')) return true;
    do {
      if (!scanner.Consume('{')) return false;
      bool has_timestamp = false, has_message = false;
      LogEvent event;
      do {
        if (!scanner.ReadString(member) || !scanner.Consume(':')) return false;
        if (member == std::string_view("timestamp") && !has_timestamp) {
          if (!scanner.ReadInt64(event.timestamp_ms)) return false;
          has_timestamp = true;
        } else if (member == std::string_view("message") && !has_message) {
          if (!scanner.ReadString(event.message)) return false;
          has_message = true;
        } else {
          return false;  // unknown or repeated members: the general path decides
        }
      } while (scanner.Consume(','));
      if (!scanner.Consume('}') || !has_timestamp || !has_message) return false;
      out.push_back(std::move(event));
    } while (scanner.Consume(','));
    return scanner.Consume(']');
  };
  if (!scanner.Consume('}')) {
    do {
      if (!scanner.ReadString(key) || !scanner.Consume(':')) return std::nullopt;
      if (doc.contains(key) || (key == "logEvents" && events)) return std::nullopt;
      if (key == "logEvents") {
        events.emplace();
        events->reserve(1024);
        if (!read_events(*events)) return std::nullopt;
        continue;
      }
      size_t begin = 0, end = 0;
      if (!scanner.SkipValue(begin, end)) return std::nullopt;
      Json value = Json::parse(body.substr(begin, end - begin), nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) return std::nullopt;
      doc[key] = std::move(value);
    } while (scanner.Consume(','));
    if (!scanner.Consume('}')) return std::nullopt;
  }
  if (!scanner.AtEnd() || !events) return std::nullopt;
  return LogsParams(std::move(doc), std::move(events));
}

Result<LogsParams> LogsParams::Parse(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return LogsParams(Json::object());
  if (auto bulk = ParseBulk(body)) return std::move(*bulk);
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return SerializationError("The request body is not valid JSON");
  if (!doc.is_object()) return SerializationError("The request body must be a JSON object");
  return LogsParams(std::move(doc));
}

const Json* LogsParams::Member(std::string_view name) const {
  auto it = doc_.find(name);
  if (it == doc_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> LogsParams::String(std::string_view name, const StringRule& rule) const {
  const Json* j = Member(name);
  if (!j) return std::optional<std::string>();
  if (!j->is_string()) return WrongType(name, *j, "a string");
  const std::string& v = j->get_ref<const std::string&>();
  ANNEX_RETURN_IF_ERROR(CheckString(name, v, rule));
  return std::optional<std::string>(v);
}

Result<std::string> LogsParams::RequiredString(std::string_view name, const StringRule& rule) const {
  ANNEX_ASSIGN_OR_RETURN(auto v, String(name, rule));
  if (!v) {
    return InvalidParameter("1 validation error detected: Value null at '" + std::string(name) +
                            "' failed to satisfy constraint: Member must not be null");
  }
  return std::move(*v);
}

Result<std::optional<int64_t>> LogsParams::Long(std::string_view name, int64_t min, int64_t max) const {
  const Json* j = Member(name);
  if (!j) return std::optional<int64_t>();
  if (!j->is_number_integer()) return WrongType(name, *j, "an integer");
  if (j->is_number_unsigned() && j->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return SerializationError("Member '" + std::string(name) + "' is out of range");
  }
  int64_t v = j->get<int64_t>();
  if (v < min) {
    return ConstraintError(name, std::to_string(v), "Member must have value greater than or equal to " + std::to_string(min));
  }
  if (v > max) {
    return ConstraintError(name, std::to_string(v), "Member must have value less than or equal to " + std::to_string(max));
  }
  return std::optional<int64_t>(v);
}

Result<std::optional<bool>> LogsParams::Bool(std::string_view name) const {
  const Json* j = Member(name);
  if (!j) return std::optional<bool>();
  if (!j->is_boolean()) return WrongType(name, *j, "a boolean");
  return std::optional<bool>(j->get<bool>());
}

Result<std::optional<std::vector<std::string>>> LogsParams::StringList(std::string_view name, size_t min_items,
                                                                       size_t max_items, const StringRule& rule) const {
  const Json* j = Member(name);
  if (!j) return std::optional<std::vector<std::string>>();
  if (!j->is_array()) return WrongType(name, *j, "an array");
  if (j->size() < min_items || j->size() > max_items) {
    return ConstraintError(name, "[...]", "Member must have length between " + std::to_string(min_items) + " and " +
                                              std::to_string(max_items));
  }
  std::vector<std::string> out;
  for (const Json& item : *j) {
    if (!item.is_string()) return WrongType(std::string(name) + ".member", item, "a string");
    ANNEX_RETURN_IF_ERROR(CheckString(name, item.get_ref<const std::string&>(), rule));
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::map<std::string, std::string>>> LogsParams::StringMap(std::string_view name) const {
  const Json* j = Member(name);
  if (!j) return std::optional<std::map<std::string, std::string>>();
  if (!j->is_object()) return WrongType(name, *j, "an object");
  std::map<std::string, std::string> out;
  for (auto it = j->begin(); it != j->end(); ++it) {
    if (!it->is_string()) return WrongType(std::string(name) + "." + it.key(), *it, "a string");
    out.emplace(it.key(), it->get<std::string>());
  }
  return std::optional<std::map<std::string, std::string>>(std::move(out));
}

}  // namespace annex::logs
