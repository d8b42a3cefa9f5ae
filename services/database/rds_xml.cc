#include "services/database/rds_xml.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <span>
#include <string>

namespace annex::database {
namespace {

using Json = nlohmann::json;

enum class ShapeKind { kStructure, kList, kString, kInteger, kDouble, kBoolean, kTimestamp };

// One member of a structure shape: its name (also its XML element: RDS has no
// member locationNames) and the name of its shape.
struct MemberDef {
  std::string_view name;
  std::string_view shape;
};

// One shape of the model. Structures list their members; lists name their
// item shape and the element each item is written as.
struct ShapeDef {
  std::string_view name;
  ShapeKind kind;
  std::span<const MemberDef> members = {};
  std::string_view item_shape = {};
  std::string_view item_element = {};
};

#include "services/database/rds_shapes.inc"

static_assert(std::is_sorted(std::begin(kShapes), std::end(kShapes),
                             [](const ShapeDef& a, const ShapeDef& b) { return a.name < b.name; }),
              "FindShape binary-searches kShapes");

// The service's own bookkeeping inside a stored document.
constexpr std::string_view kPrivateMember = "_annex";

const ShapeDef* FindShape(std::string_view name) {
  auto it = std::lower_bound(std::begin(kShapes), std::end(kShapes), name,
                             [](const ShapeDef& s, std::string_view n) { return s.name < n; });
  return it != std::end(kShapes) && it->name == name ? &*it : nullptr;
}

// A number as an SDK parses it: integers exactly, doubles in their shortest
// round-trip form.
std::string NumberText(const Json& value) {
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  double d = value.get<double>();
  if (!std::isfinite(d)) return "0";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

// The text of a scalar of kind `kind`, or false when `value` has no sensible
// text for it (an object or array where a scalar belongs).
bool ScalarText(const Json& value, ShapeKind kind, std::string& text) {
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_boolean()) {
    text = value.get<bool>() ? "true" : "false";
  } else if (value.is_number()) {
    if (kind == ShapeKind::kBoolean) {
      text = value != 0 ? "true" : "false";
    } else if (kind == ShapeKind::kInteger && value.is_number_float()) {
      text = std::to_string(static_cast<int64_t>(value.get<double>()));
    } else {
      text = NumberText(value);
    }
  } else {
    return false;
  }
  return true;
}

void AppendValue(http::XmlNode parent, std::string_view element, const Json& value, const ShapeDef& shape);

void AppendStructure(http::XmlNode parent, std::string_view element, const Json& value, const ShapeDef& shape) {
  if (!value.is_object()) return;
  http::XmlNode node = parent.Child(element);
  for (const MemberDef& member : shape.members) {
    if (member.name == kPrivateMember) continue;
    auto it = value.find(member.name);
    if (it == value.end()) continue;
    if (const ShapeDef* member_shape = FindShape(member.shape)) AppendValue(node, member.name, *it, *member_shape);
  }
}

void AppendList(http::XmlNode parent, std::string_view element, const Json& value, const ShapeDef& shape) {
  const ShapeDef* item_shape = FindShape(shape.item_shape);
  if (!value.is_array() || item_shape == nullptr) return;
  http::XmlNode node = parent.Child(element);
  for (const Json& item : value) AppendValue(node, shape.item_element, item, *item_shape);
}

void AppendValue(http::XmlNode parent, std::string_view element, const Json& value, const ShapeDef& shape) {
  if (value.is_null()) return;
  switch (shape.kind) {
    case ShapeKind::kStructure:
      AppendStructure(parent, element, value, shape);
      return;
    case ShapeKind::kList:
      AppendList(parent, element, value, shape);
      return;
    default: {
      std::string text;
      if (ScalarText(value, shape.kind, text)) parent.Add(element, text);
      return;
    }
  }
}

}  // namespace

void AppendShape(http::XmlNode parent, std::string_view element, const nlohmann::json& value, std::string_view shape) {
  if (const ShapeDef* def = FindShape(shape)) AppendValue(parent, element, value, *def);
}

void AppendDBInstance(http::XmlNode parent, const nlohmann::json& doc) {
  AppendShape(parent, "DBInstance", doc, "DBInstance");
}

void AppendDBSnapshot(http::XmlNode parent, const nlohmann::json& doc) {
  AppendShape(parent, "DBSnapshot", doc, "DBSnapshot");
}

void AppendDBEngineVersion(http::XmlNode parent, const nlohmann::json& doc) {
  AppendShape(parent, "DBEngineVersion", doc, "DBEngineVersion");
}

bool IsRdsShape(std::string_view shape) { return FindShape(shape) != nullptr; }

}  // namespace annex::database
