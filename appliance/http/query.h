#pragma once
// QueryParams: the decoded parameters of a URL query string (or of an
// application/x-www-form-urlencoded body), in the order given. Parameters
// without '=' (S3 sub-resources such as `?uploads`) have an empty value.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/core/result.h"

namespace annex::http {

class QueryParams {
 public:
  using Param = std::pair<std::string, std::string>;

  // Splits on '&' and percent-decodes names and values ('+' is a space when
  // `plus_is_space`, as in form bodies). InvalidArgument on a bad escape.
  static Result<QueryParams> Parse(std::string_view raw, bool plus_is_space = false);

  const std::string* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }
  void Add(std::string name, std::string value) { params_.emplace_back(std::move(name), std::move(value)); }
  // Removes every parameter named `name`.
  void Remove(std::string_view name) {
    std::erase_if(params_, [&](const Param& p) { return p.first == name; });
  }

  const std::vector<Param>& params() const { return params_; }
  bool empty() const { return params_.empty(); }

 private:
  std::vector<Param> params_;
};

}  // namespace annex::http
