#pragma once
// EcrParams: typed access to an ECR request's JSON members, answering as ECR
// does — a body that is not a JSON object, or a member of the wrong JSON
// type, is a SerializationException; a member that breaks a constraint of
// the model (required, length, range, enum) an InvalidParameterException
// naming the member.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/core/result.h"

namespace annex::registry {

using Json = nlohmann::json;

Status InvalidParameter(std::string message);
// "Invalid parameter at 'member' failed to satisfy constraint: 'constraint'"
Status ConstraintError(std::string_view member, std::string_view constraint);
Status SerializationError(std::string message);

class EcrParams {
 public:
  // SerializationException unless `body` is a JSON object ("" counts as {}).
  static Result<EcrParams> Parse(std::string_view body);

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

 private:
  explicit EcrParams(Json doc) : doc_(std::move(doc)) {}
  Json doc_;
};

// A string member of a nested structure (`where` names it in messages).
Result<std::optional<std::string>> NestedString(const Json& object, std::string_view name, std::string_view where);

// "Value null at 'x' failed …": the message of a missing required member.
Status MissingMember(std::string_view name);

}  // namespace annex::registry
