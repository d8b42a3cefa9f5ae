#pragma once
// Headers: an ordered multimap of HTTP header fields. Names are stored
// lower-cased (HTTP names are case-insensitive and SigV4 signs them lower-case);
// values keep their bytes.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace annex::http {

class Headers {
 public:
  struct Field {
    std::string name;  // lower-case
    std::string value;
  };

  // Appends a field; `name` is lower-cased.
  void Add(std::string_view name, std::string_view value);
  // Replaces every field called `name` with one field.
  void Set(std::string_view name, std::string_view value);
  void Remove(std::string_view name);
  void Reserve(size_t fields) { fields_.reserve(fields); }
  // The first value of `name` (any case), or nullptr.
  const std::string* Get(std::string_view name) const;
  std::string_view GetOr(std::string_view name, std::string_view fallback) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }

  const std::vector<Field>& fields() const { return fields_; }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

}  // namespace annex::http
