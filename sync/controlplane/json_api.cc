#include "sync/controlplane/json_api.h"

#include <array>
#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "sync/common/enrollment_token.h"
#include "sync/common/zone.h"
#include "sync/controlplane/zone_listing.h"

namespace annex::sync {
namespace {

using nlohmann::json;

constexpr uint64_t kDefaultHistory = 100;
constexpr uint64_t kDefaultUsagePeriods = 1000;

json Time(int64_t unix_ms) {
  if (unix_ms == 0) return nullptr;
  return FormatIso8601(SystemTime(std::chrono::milliseconds(unix_ms)));
}

// Stored JSON (resource states, command arguments) is shown as JSON; anything unparsable as a string.
json Embedded(std::string_view text) {
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? json(std::string(text)) : value;
}

json ZoneJson(const ZoneStatus& z, std::string_view region) {
  json capacity = {{"cpus", z.capacity.cpus},
                   {"memory_bytes", z.capacity.memory_bytes},
                   {"disk_bytes", z.capacity.disk_bytes},
                   {"disk_free_bytes", z.capacity.disk_free_bytes},
                   {"services", z.capacity.services}};
  json commands = json::array();
  for (const auto& c : z.capacity.commands) {
    commands.push_back({{"kind", c.kind}, {"service", c.service}, {"args", Embedded(c.args_schema_json)}});
  }
  capacity["commands"] = std::move(commands);
  return {{"name", z.zone},
          {"site", z.site},
          {"region", std::string(region)},
          {"state", std::string(ZoneStateName(z.state))},
          {"enrolled", z.enrolled_unix_ms != 0},
          {"enrolled_at", Time(z.enrolled_unix_ms)},
          {"connected", z.connected_since_unix_ms != 0},
          {"connected_since", Time(z.connected_since_unix_ms)},
          {"last_heartbeat", Time(z.last_heartbeat_unix_ms)},
          {"capacity", std::move(capacity)},
          {"agent_version", z.agent_version},
          {"last_applied_seq", z.last_applied_seq}};
}

json CommandJson(const Command& c) {
  return {{"id", c.id},
          {"zone", c.zone},
          {"kind", c.kind},
          {"args", Embedded(c.args_json)},
          {"state", c.state},
          {"result", c.result},
          {"created", Time(c.created_unix_ms)},
          {"updated", Time(c.updated_unix_ms)}};
}

json CountersJson(const UsageCounters& c) {
  return {{"requests", c.requests}, {"bytes_in", c.bytes_in}, {"bytes_out", c.bytes_out}};
}

json UsageJson(const UsageEntry& e) {
  const UsagePeriod& u = e.period;
  json services = json::object();
  for (const auto& [service, c] : u.by_service) services[service] = CountersJson(c);
  for (const auto& [service, named] : u.gauges) {
    if (!services.contains(service)) services[service] = CountersJson({});
    services[service]["gauges"] = named;
  }
  return {
      {"period_start", Time(u.start_unix_ms)}, {"period_end", Time(u.end_unix_ms)}, {"requests", u.total.requests},
      {"bytes_in", u.total.bytes_in},          {"bytes_out", u.total.bytes_out},    {"bytes_stored", u.bytes_stored},
      {"objects_stored", u.objects_stored},    {"services", std::move(services)},   {"seq", e.seq}};
}

// ?since=: unix milliseconds, or a UTC time as this API writes them
// (2024-05-01T12:00:00.000Z; the fraction is optional).
std::optional<int64_t> ParseSince(std::string_view text) {
  if (std::optional<uint64_t> ms = ParseUint(text)) {
    if (*ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(*ms);
  }
  std::optional<SystemTime> t = ParseIso8601(text);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

http::Response JsonResponse(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.headers.Set("content-type", "application/json");
  // Appliance-reported text is shown even if it is not valid UTF-8.
  r.body = body.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return r;
}

Status Invalid(std::string message) { return http::ApiStatus("ValidationError", std::move(message)); }

Result<json> ParseObject(std::string_view body) {
  json in = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return Invalid("the request body must be a JSON object");
  return in;
}

// The command's arguments, checked against what the zone advertised for its
// kind (CommandSpec), as canonical JSON (sorted keys), so a retried create
// with the same id compares equal. A zone that has not advertised its
// commands yet (it has not connected since enrolling) gets any kind with an
// object of arguments: the appliance checks them when the command arrives,
// and one it does not accept fails there.
Result<std::string> CommandArgs(const json& in, const ZoneCapacity& advertised, const std::string& zone) {
  if (!in.contains("kind") || !in["kind"].is_string()) return Invalid("\"kind\" (a string) is required");
  std::string kind = in["kind"].get<std::string>();
  if (kind.empty()) return Invalid("\"kind\" must not be empty");
  if (!in.contains("args") || !in["args"].is_object()) return Invalid("\"args\" (an object) is required");
  const json& args = in["args"];
  if (advertised.commands.empty()) return args.dump();
  auto spec = std::find_if(advertised.commands.begin(), advertised.commands.end(),
                           [&](const CommandSpec& c) { return c.kind == kind; });
  if (spec == advertised.commands.end()) {
    std::string known;
    for (const auto& c : advertised.commands) known += (known.empty() ? "" : ", ") + c.kind + " (" + c.service + ")";
    return Invalid("zone " + zone + " does not accept command kind '" + kind + "'; it accepts: " + known);
  }
  json schema = json::parse(spec->args_schema_json, nullptr, /*allow_exceptions=*/false);
  if (!schema.is_object()) return Invalid("zone " + zone + " advertised no usable argument schema for " + kind);
  for (const auto& [key, value] : args.items()) {
    if (!schema.contains(key)) return Invalid(kind + " takes no argument \"" + key + "\"");
  }
  for (const auto& [key, rule] : schema.items()) {
    bool optional = rule.is_object() && rule.contains("optional") && rule["optional"] == true;
    if (!args.contains(key) && optional) continue;
    if (!args.contains(key) || !args[key].is_string()) return Invalid(kind + " needs args." + key + " (a string)");
    std::string value = args[key].get<std::string>();
    if (rule.is_object() && rule.contains("pattern") && rule["pattern"].is_string()) {
      bool matches = false;
      try {
        matches = std::regex_search(value, std::regex(rule["pattern"].get<std::string>(), std::regex::ECMAScript));
      } catch (const std::regex_error&) {  // a bad pattern, or one too costly for this value
        return Invalid("zone " + zone + " advertised a pattern for " + kind + " args." + key + " that cannot be used");
      }
      if (!matches) {
        return Invalid("'" + value + "' is not a valid " + key + " for " + kind + " (must match " +
                       rule["pattern"].get<std::string>() + ")");
      }
    }
  }
  return args.dump();
}

class JsonApi {
 public:
  JsonApi(Registry& registry, std::string_view ca_sha256, OperatorCall& call)
      : registry_(registry), ca_sha256_(ca_sha256), call_(call), method_(call.request.method) {}

  Result<http::Response> Route(const std::vector<std::string_view>& seg) {
    if (seg.size() < 2 || seg[0] != "v1") return NoSuchPath();
    if (seg[1] == "sites" && seg.size() == 2) {
      if (method_ == "GET") return ListSites();
      return method_ == "POST" ? CreateSite() : NotAllowed();
    }
    if (seg[1] != "zones") return NoSuchPath();
    if (seg.size() == 2) return method_ == "GET" ? ListZones() : NotAllowed();
    std::string zone(seg[2]);
    if (seg.size() == 3) return method_ == "GET" ? GetZone(zone) : NotAllowed();
    std::string_view what = seg[3];
    if (seg.size() == 4 && what == "resources") return method_ == "GET" ? ListResources(zone) : NotAllowed();
    if (seg.size() == 4 && what == "history") return method_ == "GET" ? History(zone) : NotAllowed();
    if (seg.size() == 4 && what == "usage") return method_ == "GET" ? ListUsage(zone) : NotAllowed();
    if (seg.size() == 4 && what == "events") return method_ == "GET" ? ListEvents(zone) : NotAllowed();
    if (seg.size() == 4 && what == "commands") {
      if (method_ == "GET") return ListCommands(zone);
      return method_ == "POST" ? CreateCommand(zone) : NotAllowed();
    }
    if (seg.size() == 5 && what == "commands") return method_ == "GET" ? GetCommand(zone, seg[4]) : NotAllowed();
    return NoSuchPath();
  }

 private:
  Status NoSuchPath() const {
    return http::ApiStatus("NotFound", "no such endpoint: " + method_ + " " + call_.request.path);
  }
  Status NotAllowed() const {
    return http::ApiStatus("MethodNotAllowed", method_ + " is not allowed on " + call_.request.path);
  }

  Result<ZoneStatus> RequireZone(const std::string& zone) const {
    ANNEX_ASSIGN_OR_RETURN(std::optional<ZoneStatus> z, FindAnyZone(registry_, zone, call_.now_unix_ms));
    if (!z) return http::ApiStatus("NotFound", "no zone " + zone);
    return std::move(*z);
  }

  Result<http::Response> ListZones() {
    call_.operation = "ListZones";
    ANNEX_ASSIGN_OR_RETURN(std::vector<ZoneStatus> zones, ListAllZones(registry_, call_.now_unix_ms));
    json list = json::array();
    for (const auto& z : zones) list.push_back(ZoneJson(z, registry_.region()));
    return JsonResponse(200, json{{"zones", std::move(list)}});
  }

  Result<http::Response> GetZone(const std::string& zone) {
    call_.operation = "GetZone";
    ANNEX_ASSIGN_OR_RETURN(ZoneStatus z, RequireZone(zone));
    return JsonResponse(200, ZoneJson(z, registry_.region()));
  }

  Result<http::Response> ListResources(const std::string& zone) {
    call_.operation = "ListResources";
    ANNEX_ASSIGN_OR_RETURN(ZoneStatus z, RequireZone(zone));
    const std::string* flag = call_.request.query.Get("include_deleted");
    bool include_deleted = flag && *flag == "true";
    std::vector<ResourceState> resources;
    if (z.enrolled_unix_ms != 0) {
      ANNEX_ASSIGN_OR_RETURN(resources, registry_.ListResources(zone, include_deleted));
    }
    json list = json::array();
    for (const auto& r : resources) {
      json item = {{"type", r.type},
                   {"id", r.id},
                   {"state", Embedded(r.state_json)},
                   {"version", r.version},
                   {"updated", Time(r.updated_unix_ms)}};
      if (include_deleted) item["deleted"] = r.deleted;
      list.push_back(std::move(item));
    }
    return JsonResponse(200, json{{"zone", zone}, {"resources", std::move(list)}});
  }

  // ?max=, 1 to `limit`.
  Result<uint64_t> MaxParam(uint64_t default_max, uint64_t limit) const {
    const std::string* text = call_.request.query.Get("max");
    if (!text) return default_max;
    std::optional<uint64_t> n = ParseUint(*text);
    if (!n || *n == 0 || *n > limit) return Invalid("max must be 1-" + std::to_string(limit));
    return *n;
  }

  Result<http::Response> History(const std::string& zone) {
    call_.operation = "ListHistory";
    ANNEX_ASSIGN_OR_RETURN(ZoneStatus z, RequireZone(zone));
    ANNEX_ASSIGN_OR_RETURN(uint64_t max, MaxParam(kDefaultHistory, Registry::kMaxHistory));
    std::vector<ConnectionEvent> events;
    if (z.enrolled_unix_ms != 0) {
      ANNEX_ASSIGN_OR_RETURN(events, registry_.History(zone, max));
    }
    json list = json::array();
    for (const auto& e : events) list.push_back({{"time", Time(e.unix_ms)}, {"event", e.event}, {"detail", e.detail}});
    return JsonResponse(200, json{{"zone", zone}, {"events", std::move(list)}});
  }

  // The newest `max` periods that ended after `since`, oldest first, and
  // their totals; "truncated" when older periods after `since` were left out.
  Result<http::Response> ListUsage(const std::string& zone) {
    call_.operation = "ListUsage";
    ANNEX_ASSIGN_OR_RETURN(ZoneStatus z, RequireZone(zone));
    ANNEX_ASSIGN_OR_RETURN(uint64_t max, MaxParam(kDefaultUsagePeriods, Registry::kMaxUsagePeriods));
    int64_t since = std::numeric_limits<int64_t>::min();
    if (const std::string* text = call_.request.query.Get("since")) {
      std::optional<int64_t> parsed = ParseSince(*text);
      if (!parsed) return Invalid("since must be unix milliseconds or a time like 2024-05-01T12:00:00Z");
      since = *parsed;
    }
    std::vector<UsageEntry> periods;
    if (z.enrolled_unix_ms != 0) {
      ANNEX_ASSIGN_OR_RETURN(periods, registry_.ListUsage(zone, since, max + 1));
    }
    bool truncated = periods.size() > max;
    if (truncated) periods.erase(periods.begin());
    json list = json::array();
    UsageCounters totals;
    for (const auto& e : periods) {
      list.push_back(UsageJson(e));
      totals.requests += e.period.total.requests;
      totals.bytes_in += e.period.total.bytes_in;
      totals.bytes_out += e.period.total.bytes_out;
    }
    return JsonResponse(
        200,
        json{{"zone", zone}, {"usage", std::move(list)}, {"totals", CountersJson(totals)}, {"truncated", truncated}});
  }

  // What the appliance reported about itself, newest last.
  Result<http::Response> ListEvents(const std::string& zone) {
    call_.operation = "ListEvents";
    ANNEX_ASSIGN_OR_RETURN(ZoneStatus z, RequireZone(zone));
    ANNEX_ASSIGN_OR_RETURN(uint64_t max, MaxParam(kDefaultHistory, Registry::kMaxApplianceEvents));
    std::vector<ApplianceEvent> events;
    if (z.enrolled_unix_ms != 0) {
      ANNEX_ASSIGN_OR_RETURN(events, registry_.ListApplianceEvents(zone, max));
    }
    json list = json::array();
    for (const auto& e : events) {
      list.push_back({{"time", Time(e.unix_ms)},
                      {"severity", e.severity},
                      {"kind", e.kind},
                      {"message", e.message},
                      {"seq", e.seq}});
    }
    return JsonResponse(200, json{{"zone", zone}, {"events", std::move(list)}});
  }

  Result<http::Response> ListCommands(const std::string& zone) {
    call_.operation = "ListCommands";
    ANNEX_RETURN_IF_ERROR(RequireZone(zone).status());
    ANNEX_ASSIGN_OR_RETURN(std::vector<Command> commands, registry_.ListCommands(zone));
    json list = json::array();
    for (const auto& c : commands) list.push_back(CommandJson(c));
    return JsonResponse(200, json{{"zone", zone}, {"commands", std::move(list)}});
  }

  Result<http::Response> GetCommand(const std::string& zone, std::string_view id) {
    call_.operation = "GetCommand";
    ANNEX_ASSIGN_OR_RETURN(std::optional<Command> c, registry_.GetCommand(id));
    if (!c || c->zone != zone) return http::ApiStatus("NotFound", "no command " + std::string(id) + " in " + zone);
    return JsonResponse(200, CommandJson(*c));
  }

  Result<http::Response> CreateCommand(const std::string& zone) {
    call_.operation = "CreateCommand";
    ANNEX_ASSIGN_OR_RETURN(json in, ParseObject(call_.body));
    // A site that has not enrolled yet takes commands too: they wait for its first session.
    ANNEX_ASSIGN_OR_RETURN(ZoneStatus z, RequireZone(zone));
    ANNEX_ASSIGN_OR_RETURN(std::string args, CommandArgs(in, z.capacity, zone));
    std::string id;
    if (in.contains("id")) {
      if (!in["id"].is_string()) return Invalid("\"id\" must be a string");
      id = in["id"].get<std::string>();
      // Present but empty is a mistake, not "make one up": a retry would create a second command.
      if (id.empty()) return Invalid("\"id\" must be 1-64 of [A-Za-z0-9._-]");
    }
    std::string kind = in["kind"].get<std::string>();
    ANNEX_ASSIGN_OR_RETURN(Command c, registry_.CreateCommand(zone, kind, args, call_.now_unix_ms, id));
    return JsonResponse(201, CommandJson(c));
  }

  Result<http::Response> ListSites() {
    call_.operation = "ListSites";
    ANNEX_ASSIGN_OR_RETURN(std::vector<Site> sites, registry_.ListSites());
    json list = json::array();
    for (const auto& s : sites) {
      list.push_back(
          {{"name", s.name}, {"zone", s.zone}, {"created", Time(s.created_unix_ms)}, {"enrolled", s.enrolled}});
    }
    return JsonResponse(200, json{{"sites", std::move(list)}});
  }

  Result<http::Response> CreateSite() {
    call_.operation = "CreateSite";
    ANNEX_ASSIGN_OR_RETURN(json in, ParseObject(call_.body));
    if (!in.contains("name") || !in["name"].is_string()) return Invalid("body must be {\"name\": \"SITE\"}");
    std::string name = in["name"].get<std::string>();
    if (!IsValidSiteName(name)) {
      return Invalid("'" + name +
                     "' is not a valid site name: 1-32 of a-z, 0-9 and '-', starting with a letter "
                     "or digit, no \"--\"");
    }
    bool replace = in.contains("replace_token") && in["replace_token"].is_boolean() && in["replace_token"].get<bool>();
    ANNEX_ASSIGN_OR_RETURN(EnrollmentToken token, registry_.CreateSite(name, ca_sha256_, call_.now_unix_ms, replace));
    json out = {{"site", name}, {"zone", ZoneName(registry_.region(), name)}, {"token", EncodeToken(token)}};
    return JsonResponse(201, out);
  }

  Registry& registry_;
  std::string_view ca_sha256_;
  OperatorCall& call_;
  const std::string& method_;
};

}  // namespace

Result<http::Response> ServeJsonApi(Registry& registry, std::string_view ca_sha256, OperatorCall& call) {
  std::string_view path = call.request.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.empty() || path.front() != '/') return http::ApiStatus("NotFound", "no such endpoint");
  JsonApi api(registry, ca_sha256, call);
  return api.Route(Split(path.substr(1), '/'));
}

}  // namespace annex::sync
