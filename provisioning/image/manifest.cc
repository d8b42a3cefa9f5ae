#include "provisioning/image/manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <set>
#include <utility>

#include "appliance/core/strings.h"

namespace annex::image {
namespace {

using nlohmann::json;

Status Bad(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("manifest: field '" + std::string(field) + "' " + std::string(why));
}

bool IsLowerHex(std::string_view s, size_t size) {
  return s.size() == size &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Unknown keys are refused: a new field means a new format number.
Status CheckKeys(const json& obj, std::initializer_list<std::string_view> known, const std::string& prefix) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) return Bad(prefix + key, "is unknown");
  }
  return Status::OK();
}

Result<const json*> Member(const json& obj, const std::string& key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) return Bad(path, "is missing");
  return &*it;
}

Result<std::string> GetString(const json& obj, const std::string& key, const std::string& prefix) {
  ANNEX_ASSIGN_OR_RETURN(const json* v, Member(obj, key, prefix + key));
  if (!v->is_string()) return Bad(prefix + key, "must be a string");
  return v->get<std::string>();
}

Result<uint64_t> GetUint(const json& obj, const std::string& key, const std::string& prefix) {
  ANNEX_ASSIGN_OR_RETURN(const json* v, Member(obj, key, prefix + key));
  // nlohmann parses non-negative integers that fit in 64 bits as unsigned, anything else differently.
  if (!v->is_number_unsigned()) return Bad(prefix + key, "must be a non-negative 64-bit integer");
  return v->get<uint64_t>();
}

Status CheckArtifactName(std::string_view name, const std::string& field) {
  if (name.empty()) return Bad(field, "must not be empty");
  if (name.find('/') != std::string_view::npos || name.find("..") != std::string_view::npos) {
    return Bad(field, "must not contain '/' or '..'");
  }
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Bad(field, "must not contain control characters");
  }
  return Status::OK();
}

// "extents": [[offset, size, "sha256"], ...], sorted, disjoint, inside the artifact.
Status ParseExtents(const json& obj, const std::string& prefix, Artifact& a) {
  auto it = obj.find("extents");
  if (it == obj.end()) return Status::OK();
  const std::string field = prefix + "extents";
  if (!it->is_array()) return Bad(field, "must be an array");
  uint64_t end = 0;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& e = (*it)[i];
    std::string at = field + "[" + std::to_string(i) + "]";
    if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() || !e[1].is_number_unsigned() ||
        !e[2].is_string()) {
      return Bad(at, "must be [offset, size, sha256]");
    }
    Extent x{e[0].get<uint64_t>(), e[1].get<uint64_t>(), e[2].get<std::string>()};
    if (x.size == 0 || x.offset < end || x.offset + x.size < x.offset || x.offset + x.size > a.size) {
      return Bad(at, "must be non-empty, sorted, disjoint and inside the artifact");
    }
    if (!IsLowerHex(x.sha256, 64)) return Bad(at, "sha256 must be 64 lower-case hex characters");
    end = x.offset + x.size;
    a.extents.push_back(std::move(x));
  }
  return Status::OK();
}

Result<Artifact> ParseArtifact(const json& obj, const std::string& prefix) {
  if (!obj.is_object()) return Bad(prefix.substr(0, prefix.size() - 1), "must be an object");
  ANNEX_RETURN_IF_ERROR(CheckKeys(obj, {"name", "slot", "offset", "size", "sha256", "extents"}, prefix));
  Artifact a;
  ANNEX_ASSIGN_OR_RETURN(a.name, GetString(obj, "name", prefix));
  ANNEX_RETURN_IF_ERROR(CheckArtifactName(a.name, prefix + "name"));
  ANNEX_ASSIGN_OR_RETURN(a.slot, GetString(obj, "slot", prefix));
  ANNEX_ASSIGN_OR_RETURN(a.offset, GetUint(obj, "offset", prefix));
  ANNEX_ASSIGN_OR_RETURN(a.size, GetUint(obj, "size", prefix));
  if (a.offset + a.size < a.offset) return Bad(prefix + "size", "overflows with offset");
  ANNEX_ASSIGN_OR_RETURN(a.sha256, GetString(obj, "sha256", prefix));
  if (!IsLowerHex(a.sha256, 64)) return Bad(prefix + "sha256", "must be 64 lower-case hex characters");
  ANNEX_RETURN_IF_ERROR(ParseExtents(obj, prefix, a));
  return a;
}

Status ParseArtifacts(const json& root, Manifest& m) {
  ANNEX_ASSIGN_OR_RETURN(const json* list, Member(root, "artifacts", "artifacts"));
  if (!list->is_array()) return Bad("artifacts", "must be an array");
  std::set<std::string> names;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string prefix = "artifacts[" + std::to_string(i) + "].";
    ANNEX_ASSIGN_OR_RETURN(Artifact a, ParseArtifact((*list)[i], prefix));
    if (!names.insert(a.name).second) return Bad(prefix + "name", "duplicates '" + a.name + "'");
    m.artifacts.push_back(std::move(a));
  }
  return Status::OK();
}

Status ParseHeaderFields(const json& root, Manifest& m) {
  ANNEX_ASSIGN_OR_RETURN(const json* format, Member(root, "format", "format"));
  if (!format->is_number_integer()) return Bad("format", "must be an integer");
  if (*format != 1) return Bad("format", "must be 1");
  ANNEX_ASSIGN_OR_RETURN(m.product, GetString(root, "product", ""));
  if (m.product != "annex") return Bad("product", "must be \"annex\"");
  ANNEX_ASSIGN_OR_RETURN(m.version, GetString(root, "version", ""));
  if (!IsValidVersion(m.version)) return Bad("version", "is not a dotted numeric version");
  ANNEX_ASSIGN_OR_RETURN(m.min_installed_version, GetString(root, "min_installed_version", ""));
  if (!m.min_installed_version.empty()) {
    if (!IsValidVersion(m.min_installed_version))
      return Bad("min_installed_version", "is not a dotted numeric version");
    if (CompareVersions(m.min_installed_version, m.version) > 0) return Bad("min_installed_version", "exceeds version");
  }
  ANNEX_ASSIGN_OR_RETURN(m.key_id, GetString(root, "key_id", ""));
  if (!IsLowerHex(m.key_id, 16)) return Bad("key_id", "must be 16 lower-case hex characters");
  return Status::OK();
}

// Orders two decimal digit strings by value without converting (no overflow).
int CompareNumber(std::string_view a, std::string_view b) {
  a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
  b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return (c > 0) - (c < 0);
}

}  // namespace

std::string EncodeManifest(const Manifest& m) {
  nlohmann::ordered_json artifacts = nlohmann::ordered_json::array();
  for (const Artifact& a : m.artifacts) {
    nlohmann::ordered_json entry{
        {"name", a.name}, {"slot", a.slot}, {"offset", a.offset}, {"size", a.size}, {"sha256", a.sha256}};
    if (!a.extents.empty()) {
      nlohmann::ordered_json extents = nlohmann::ordered_json::array();
      for (const Extent& x : a.extents) extents.push_back(nlohmann::ordered_json::array({x.offset, x.size, x.sha256}));
      entry["extents"] = std::move(extents);
    }
    artifacts.push_back(std::move(entry));
  }
  nlohmann::ordered_json root{{"format", m.format},   {"product", m.product},
                              {"version", m.version}, {"min_installed_version", m.min_installed_version},
                              {"key_id", m.key_id},   {"artifacts", std::move(artifacts)}};
  // Invalid UTF-8 is replaced rather than thrown on; ParseManifest refuses such a manifest anyway.
  return root.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Result<Manifest> ParseManifest(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument("manifest: not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument("manifest: not a JSON object");
  ANNEX_RETURN_IF_ERROR(
      CheckKeys(root, {"format", "product", "version", "min_installed_version", "key_id", "artifacts"}, ""));
  Manifest m;
  ANNEX_RETURN_IF_ERROR(ParseHeaderFields(root, m));
  ANNEX_RETURN_IF_ERROR(ParseArtifacts(root, m));
  return m;
}

int CompareVersions(std::string_view a, std::string_view b) {
  std::vector<std::string_view> pa = Split(a, '.'), pb = Split(b, '.');
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    int c = CompareNumber(i < pa.size() ? pa[i] : "0", i < pb.size() ? pb[i] : "0");
    if (c != 0) return c;
  }
  return 0;
}

bool IsValidVersion(std::string_view v) {
  std::vector<std::string_view> parts = Split(v, '.');
  if (parts.size() > 4) return false;
  return std::all_of(parts.begin(), parts.end(), [](std::string_view p) {
    return !p.empty() && p.size() <= 9 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
  });
}

const Artifact* FindArtifact(const Manifest& m, std::string_view name) {
  for (const Artifact& a : m.artifacts) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace annex::image
