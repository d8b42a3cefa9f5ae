#include "appliance/service/json_params.h"

#include "appliance/http/api_error.h"

namespace annex::service {
namespace {

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

Status CheckLength(std::string_view name, const std::string& v, size_t min, size_t max) {
  if (v.size() < min) {
    return ConstraintError(name, "must have length greater than or equal to " + std::to_string(min));
  }
  if (v.size() > max) return ConstraintError(name, "must have length less than or equal to " + std::to_string(max));
  return Status::OK();
}

}  // namespace

Status InvalidParameter(std::string message) { return http::ApiStatus("InvalidParameterException", std::move(message)); }
Status SerializationError(std::string message) { return http::ApiStatus("SerializationException", std::move(message)); }

Status ConstraintError(std::string_view member, std::string_view constraint) {
  return InvalidParameter("Invalid parameter at '" + std::string(member) + "' failed to satisfy constraint: '" +
                          std::string(constraint) + "'");
}

Status MissingMember(std::string_view name) { return ConstraintError(name, "Member must not be null"); }

Result<JsonParams> JsonParams::Parse(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return JsonParams(Json::object());
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return SerializationError("The request body is not valid JSON");
  if (!doc.is_object()) return SerializationError("The request body must be a JSON object");
  return JsonParams(std::move(doc));
}

const Json* JsonParams::Member(std::string_view name) const {
  auto it = doc_.find(name);
  if (it == doc_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> JsonParams::String(std::string_view name, size_t min, size_t max) const {
  const Json* j = Member(name);
  if (!j) return std::optional<std::string>();
  if (!j->is_string()) return WrongType(name, *j, "a string");
  ANNEX_RETURN_IF_ERROR(CheckLength(name, j->get_ref<const std::string&>(), min, max));
  return std::optional<std::string>(j->get<std::string>());
}

Result<std::string> JsonParams::RequiredString(std::string_view name, size_t min, size_t max) const {
  ANNEX_ASSIGN_OR_RETURN(auto v, String(name, min, max));
  if (!v) return MissingMember(name);
  return std::move(*v);
}

Result<std::optional<int64_t>> JsonParams::Long(std::string_view name, int64_t min, int64_t max) const {
  const Json* j = Member(name);
  if (!j) return std::optional<int64_t>();
  if (!j->is_number_integer()) return WrongType(name, *j, "an integer");
  if (j->is_number_unsigned() && j->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return ConstraintError(name, "must have value less than or equal to " + std::to_string(max));
  }
  int64_t v = j->get<int64_t>();
  if (v < min) return ConstraintError(name, "must have value greater than or equal to " + std::to_string(min));
  if (v > max) return ConstraintError(name, "must have value less than or equal to " + std::to_string(max));
  return std::optional<int64_t>(v);
}

Result<std::optional<bool>> JsonParams::Bool(std::string_view name) const {
  const Json* j = Member(name);
  if (!j) return std::optional<bool>();
  if (!j->is_boolean()) return WrongType(name, *j, "a boolean");
  return std::optional<bool>(j->get<bool>());
}

Result<std::optional<std::vector<std::string>>> JsonParams::StringList(std::string_view name, size_t min_items,
                                                                      size_t max_items) const {
  const Json* j = Member(name);
  if (!j) return std::optional<std::vector<std::string>>();
  if (!j->is_array()) return WrongType(name, *j, "an array");
  if (j->size() < min_items) {
    return ConstraintError(name, "must have length greater than or equal to " + std::to_string(min_items));
  }
  if (j->size() > max_items) {
    return ConstraintError(name, "must have length less than or equal to " + std::to_string(max_items));
  }
  std::vector<std::string> out;
  for (const Json& e : *j) {
    if (!e.is_string()) return WrongType(std::string(name) + ".member", e, "a string");
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<const Json*> JsonParams::Object(std::string_view name) const {
  const Json* j = Member(name);
  if (j && !j->is_object()) return WrongType(name, *j, "an object");
  return j;
}

Result<const Json*> JsonParams::ObjectList(std::string_view name, size_t min_items, size_t max_items) const {
  const Json* j = Member(name);
  if (!j) return j;
  if (!j->is_array()) return WrongType(name, *j, "an array");
  if (j->size() < min_items) {
    return ConstraintError(name, "must have length greater than or equal to " + std::to_string(min_items));
  }
  if (j->size() > max_items) {
    return ConstraintError(name, "must have length less than or equal to " + std::to_string(max_items));
  }
  for (const Json& e : *j) {
    if (!e.is_object()) return WrongType(std::string(name) + ".member", e, "an object");
  }
  return j;
}

Result<std::optional<std::string>> NestedString(const Json& object, std::string_view name, std::string_view where) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return WrongType(std::string(where) + "." + std::string(name), *it, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

}  // namespace annex::service
