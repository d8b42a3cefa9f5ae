#include "sync/controlplane/ec2_api.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "appliance/core/strings.h"
#include "appliance/http/query.h"
#include "appliance/http/xml.h"
#include "sync/controlplane/zone_listing.h"

namespace annex::sync {
namespace {

constexpr std::string_view kEc2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";
constexpr std::string_view kZoneType = "local-zone";
constexpr std::string_view kOptInStatus = "opted-in";

// One zone as EC2 describes it.
struct Ec2Zone {
  std::string name, id, state, region;
  std::vector<std::string> messages;
};

// How AWS shortens the words of region names in zone ids.
struct Abbreviation {
  std::string_view word, short_form;
};
constexpr auto kDirections = std::to_array<Abbreviation>({{"northeast", "ne"},
                                                          {"northwest", "nw"},
                                                          {"southeast", "se"},
                                                          {"southwest", "sw"},
                                                          {"central", "c"},
                                                          {"north", "n"},
                                                          {"south", "s"},
                                                          {"east", "e"},
                                                          {"west", "w"}});

std::string_view DirectionAbbreviation(std::string_view word) {
  for (const auto& [long_form, short_form] : kDirections) {
    if (word == long_form) return short_form;
  }
  return word.substr(0, 1);
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits{"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return buf;
}

std::string FormatMs(int64_t unix_ms) { return FormatIso8601(SystemTime(std::chrono::milliseconds(unix_ms))); }

// Why a zone is not available, and what it has, for EC2's messages.
std::vector<std::string> ZoneMessages(const ZoneStatus& z) {
  std::vector<std::string> out;
  if (z.enrolled_unix_ms == 0) {
    out.push_back("site created; waiting for its appliance to enroll");
  } else if (z.state != ZoneState::kAvailable) {
    out.push_back(z.last_heartbeat_unix_ms == 0 ? "no heartbeat from the appliance yet"
                                                : "no heartbeat since " + FormatMs(z.last_heartbeat_unix_ms));
  }
  const ZoneCapacity& c = z.capacity;
  if (c.cpus > 0 || c.memory_bytes > 0 || c.disk_bytes > 0) {
    std::string m = "capacity: " + std::to_string(c.cpus) + " vCPUs, " + FormatBytes(c.memory_bytes) + " memory, " +
                    FormatBytes(c.disk_bytes) + " disk (" + FormatBytes(c.disk_free_bytes) + " free)";
    if (!c.services.empty()) {
      m += "; services:";
      for (const auto& s : c.services) m += " " + s;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Shell-style matching of EC2 filter values: '*' any run, '?' one character.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The values filter `name` compares with; InvalidParameterValue for a filter this API does not know.
Result<std::vector<std::string>> FilterField(const Ec2Zone& zone, std::string_view name) {
  if (name == "zone-name" || name == "group-name" || name == "network-border-group")
    return std::vector<std::string>{zone.name};
  if (name == "zone-id") return std::vector<std::string>{zone.id};
  if (name == "state") return std::vector<std::string>{zone.state};
  if (name == "region-name") return std::vector<std::string>{zone.region};
  if (name == "zone-type") return std::vector<std::string>{std::string(kZoneType)};
  if (name == "opt-in-status") return std::vector<std::string>{std::string(kOptInStatus)};
  if (name == "message") return zone.messages;
  return http::ApiStatus("InvalidParameterValue", "The filter '" + std::string(name) + "' is invalid");
}

struct Filter {
  std::string name;
  std::vector<std::string> values;
};

// What the request selects: names and ids (OR), and filters (AND of ORs).
struct Selection {
  std::vector<std::string> zone_names, zone_ids;
  std::vector<Filter> filters;
  bool dry_run = false;
};

// Parses the list parameters: "ZoneName.1", "Filter.2.Name", "Filter.2.Value.1", ...
Result<Selection> ParseSelection(const http::QueryParams& params) {
  Selection s;
  std::map<std::string, Filter> filters;  // by index, as given
  for (const auto& [name, value] : params.params()) {
    std::vector<std::string_view> parts = Split(name, '.');
    if (parts.size() == 2 && parts[0] == "ZoneName") s.zone_names.push_back(value);
    if (parts.size() == 2 && parts[0] == "ZoneId") s.zone_ids.push_back(value);
    if (parts.size() == 3 && parts[0] == "Filter" && parts[2] == "Name") filters[std::string(parts[1])].name = value;
    if (parts.size() == 4 && parts[0] == "Filter" && parts[2] == "Value") {
      filters[std::string(parts[1])].values.push_back(value);
    }
    if (name == "DryRun") s.dry_run = EqualsIgnoreCase(value, "true");
  }
  for (auto& [index, f] : filters) {
    if (f.name.empty()) return http::ApiStatus("InvalidParameterValue", "Filter." + index + " has no Name");
    if (f.values.empty()) {
      return http::ApiStatus("InvalidParameterValue", "The filter '" + f.name + "' needs at least one Value");
    }
    s.filters.push_back(std::move(f));
  }
  return s;
}

Result<bool> Selected(const Ec2Zone& zone, const Selection& s) {
  auto listed = [](const std::vector<std::string>& list, const std::string& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  if (!s.zone_names.empty() || !s.zone_ids.empty()) {
    if (!listed(s.zone_names, zone.name) && !listed(s.zone_ids, zone.id)) return false;
  }
  for (const Filter& f : s.filters) {
    ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> fields, FilterField(zone, f.name));
    bool any = false;
    for (const auto& v : f.values) {
      for (const auto& field : fields) any = any || GlobMatch(v, field);
    }
    if (!any) return false;
  }
  return true;
}

// EC2 refuses names and ids it does not know rather than returning less.
Status CheckNamesExist(const std::vector<Ec2Zone>& zones, const Selection& s) {
  for (const auto& name : s.zone_names) {
    bool found = std::any_of(zones.begin(), zones.end(), [&](const Ec2Zone& z) { return z.name == name; });
    if (!found) return http::ApiStatus("InvalidParameterValue", "Invalid availability zone: [" + name + "]");
  }
  for (const auto& id : s.zone_ids) {
    bool found = std::any_of(zones.begin(), zones.end(), [&](const Ec2Zone& z) { return z.id == id; });
    if (!found) return http::ApiStatus("InvalidParameterValue", "Invalid availability zone id: [" + id + "]");
  }
  return Status::OK();
}

void AddZone(http::XmlNode list, const Ec2Zone& z) {
  http::XmlNode item = list.Child("item");
  item.Add("zoneName", z.name).Add("zoneId", z.id).Add("zoneState", z.state).Add("regionName", z.region);
  http::XmlNode messages = item.Child("messageSet");
  for (const auto& m : z.messages) messages.Child("item").Add("message", m);
  item.Add("zoneType", kZoneType).Add("optInStatus", kOptInStatus).Add("groupName", z.name);
  item.Add("networkBorderGroup", z.name);
}

Result<http::Response> DescribeAvailabilityZones(const Registry& registry, const http::QueryParams& params,
                                                 const OperatorCall& call) {
  ANNEX_ASSIGN_OR_RETURN(Selection selection, ParseSelection(params));
  if (selection.dry_run) {
    return http::ApiStatus("DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
  }
  ANNEX_ASSIGN_OR_RETURN(std::vector<ZoneStatus> statuses, ListAllZones(registry, call.now_unix_ms));
  std::vector<Ec2Zone> zones;
  for (const ZoneStatus& z : statuses) {
    zones.push_back({z.zone, Ec2ZoneId(registry.region(), z.site), std::string(ZoneStateName(z.state)),
                     registry.region(), ZoneMessages(z)});
  }
  ANNEX_RETURN_IF_ERROR(CheckNamesExist(zones, selection));
  http::XmlDocument doc("DescribeAvailabilityZonesResponse", kEc2Namespace);
  doc.root().Add("requestId", call.request.request_id);
  http::XmlNode list = doc.root().Child("availabilityZoneInfo");
  for (const Ec2Zone& z : zones) {
    ANNEX_ASSIGN_OR_RETURN(bool selected, Selected(z, selection));
    if (selected) AddZone(list, z);
  }
  http::Response r;
  r.headers.Set("content-type", "text/xml;charset=UTF-8");
  r.body = doc.Render();
  return r;
}

}  // namespace

std::string Ec2ZoneId(std::string_view region, std::string_view site) {
  std::vector<std::string_view> parts = Split(region, '-');
  std::string abbreviation(region);
  if (parts.size() >= 3) {
    abbreviation = std::string(parts.front());
    for (size_t i = 1; i + 1 < parts.size(); ++i) abbreviation += DirectionAbbreviation(parts[i]);
    abbreviation += parts.back();
  }
  return abbreviation + "-annex-" + std::string(site);
}

Result<http::Response> ServeEc2Query(const Registry& registry, OperatorCall& call) {
  const http::Request& request = call.request;
  if (request.method != "GET" && request.method != "POST") {
    return http::ApiStatus("MethodNotAllowed", "The EC2 Query API takes GET or POST");
  }
  // Parameters come in the URL, in a form body, or both.
  std::string raw = request.raw_query;
  if (!call.body.empty()) raw = raw.empty() ? std::string(call.body) : raw + "&" + std::string(call.body);
  ANNEX_ASSIGN_OR_RETURN(http::QueryParams params, http::QueryParams::Parse(raw, /*plus_is_space=*/true));
  const std::string* action = params.Get("Action");
  if (!action || action->empty())
    return http::ApiStatus("MissingAction", "The request must contain the parameter Action");
  call.operation = *action;
  if (*action == "DescribeAvailabilityZones") return DescribeAvailabilityZones(registry, params, call);
  return http::ApiStatus("InvalidAction", "The action " + *action + " is not valid for this web service.");
}

http::Response RenderEc2Error(const http::ApiError& error, std::string_view request_id) {
  http::XmlDocument doc("Response");
  doc.root().Child("Errors").Child("Error").Add("Code", error.code).Add("Message", error.message);
  doc.root().Add("RequestID", request_id);
  http::Response r;
  r.status = error.http_status;
  r.headers.Set("content-type", "text/xml;charset=UTF-8");
  r.body = doc.Render();
  return r;
}

}  // namespace annex::sync
