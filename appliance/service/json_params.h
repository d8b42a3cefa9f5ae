#pragma once
// JsonParams: typed access to the members of a JSON 1.1 request (ECR, ECS),
// answering as those services do — a body that is not a JSON object, or a
// member of the wrong JSON type, is a SerializationException; a member that
// breaks a constraint of the model (required, length, range, enum) an
// InvalidParameterException naming the member.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/core/result.h"

namespace annex::service {

using Json = nlohmann::json;

Status InvalidParameter(std::string message);
// "Invalid parameter at 'member' failed to satisfy constraint: 'constraint'"
Status ConstraintError(std::string_view member, std::string_view constraint);
Status SerializationError(std::string message);

class JsonParams {
 public:
  // SerializationException unless `body` is a JSON object ("" counts as {}).
  static Result<JsonParams> Parse(std::string_view body);

  // A string member of min..max bytes; nullopt when absent or null.
  Result<std::optional<std::string>> String(std::string_view name, size_t min = 0, size_t max = SIZE_MAX) const;
  Result<std::string> RequiredString(std::string_view name, size_t min = 0, size_t max = SIZE_MAX) const;
  Result<std::optional<int64_t>> Long(std::string_view name, int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  Result<std::optional<bool>> Bool(std::string_view name) const;
  // An array of strings with min_items..max_items entries.
  Result<std::optional<std::vector<std::string>>> StringList(std::string_view name, size_t min_items,
                                                             size_t max_items) const;
  // An object member (a structure of the model); null when absent.
  Result<const Json*> Object(std::string_view name) const;
  // An array member of objects; null when absent.
  Result<const Json*> ObjectList(std::string_view name, size_t min_items, size_t max_items) const;
  // The raw member, or null when absent.
  const Json* Member(std::string_view name) const;
  // The whole request (an operation that takes a document, such as ECS's
  // RegisterTaskDefinition, reads it with its own rules).
  const Json& doc() const { return doc_; }

 private:
  explicit JsonParams(Json doc) : doc_(std::move(doc)) {}
  Json doc_;
};

// A string member of a nested structure (`where` names it in messages).
Result<std::optional<std::string>> NestedString(const Json& object, std::string_view name, std::string_view where);

// "Value null at 'x' failed …": the message of a missing required member.
Status MissingMember(std::string_view name);

}  // namespace annex::service
