#pragma once
// RequestContext: the condition keys of one request and their values —
// global keys the platform knows (aws:SourceIp, aws:CurrentTime,
// aws:username, …) and service keys (s3:prefix, …). Keys are
// case-insensitive, as in IAM; a key may carry several values
// (aws:TagKeys), which the ForAnyValue:/ForAllValues: qualifiers test.
//
// Keys can also come from a resolver, asked the first time a policy reads
// a key that was not set: the global keys are many and most policies read
// none of them, so the platform computes each only when a condition or a
// policy variable needs it.

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace annex::policy {

class RequestContext {
 public:
  // Keys compare without regard to case, so lookups need no lowered copy.
  struct CaseInsensitiveLess {
    using is_transparent = void;
    static char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
    bool operator()(std::string_view a, std::string_view b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](char x, char y) { return Lower(x) < Lower(y); });
    }
  };
  using Map = std::map<std::string, std::vector<std::string>, CaseInsensitiveLess>;
  // Computes a key that was not set: its values, or nullopt when the request has none.
  using Resolver = std::function<std::optional<std::vector<std::string>>(std::string_view key)>;

  void SetResolver(Resolver resolver) { resolver_ = std::move(resolver); }

  void Set(std::string_view key, std::string value) { SetAll(key, {std::move(value)}); }
  void SetAll(std::string_view key, std::vector<std::string> values) {
    auto it = values_.find(key);
    if (it == values_.end()) {
      values_.emplace(std::string(key), std::move(values));
    } else {
      it->second = std::move(values);
    }
  }
  void Erase(std::string_view key) {
    auto it = values_.find(key);
    if (it != values_.end()) values_.erase(it);
  }
  // The values of `key` (any case), or null when the request has none.
  const std::vector<std::string>* Get(std::string_view key) const {
    auto it = values_.find(key);
    if (it != values_.end()) return &it->second;
    if (!resolver_ || std::find(absent_.begin(), absent_.end(), key) != absent_.end()) return nullptr;
    auto resolved = resolver_(key);
    if (!resolved) {
      absent_.emplace_back(key);
      return nullptr;
    }
    return &values_.emplace(std::string(key), std::move(*resolved)).first->second;
  }
  // The keys set or resolved so far.
  const Map& all() const { return values_; }

 private:
  // Resolved keys are cached: a request's context does not change while it is evaluated.
  mutable Map values_;
  mutable std::vector<std::string> absent_;
  Resolver resolver_;
};

}  // namespace annex::policy
