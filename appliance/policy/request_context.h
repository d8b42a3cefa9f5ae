#pragma once
// RequestContext: the condition keys of one request and their values —
// global keys the platform knows (aws:SourceIp, aws:CurrentTime,
// aws:username, …) and service keys (s3:prefix, …). Keys are
// case-insensitive, as in IAM; a key may carry several values
// (aws:TagKeys), which the ForAnyValue:/ForAllValues: qualifiers test.

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace annex::policy {

class RequestContext {
 public:
  void Set(std::string_view key, std::string value) { values_[Lower(key)] = {std::move(value)}; }
  void SetAll(std::string_view key, std::vector<std::string> values) { values_[Lower(key)] = std::move(values); }
  void Erase(std::string_view key) { values_.erase(Lower(key)); }
  // The values of `key` (any case), or null when the request has none.
  const std::vector<std::string>* Get(std::string_view key) const {
    auto it = values_.find(Lower(key));
    return it == values_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, std::vector<std::string>, std::less<>>& all() const { return values_; }

 private:
  static std::string Lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
  }
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

}  // namespace annex::policy
