#pragma once
// StatementIndex: a policy's statements by the literal beginnings of their
// Action and Resource patterns (the text before the first wildcard), so that
// a request visits only the statements that can apply to its action and
// resource instead of testing every statement of every policy. A user's 10
// policies of 10 statements are 100 statements a request would otherwise
// test; most name other actions of the same service ("s3:Delete*",
// "s3:Put*"), which a lookup by service prefix alone would not rule out,
// and of those left most name other keys of the same bucket.
//
// Actions: the distinct literal prefixes are kept sorted, each with its
// parent, the longest other prefix that begins it. The prefixes that begin
// an action are then one chain of parents, reached from the greatest prefix
// not after the action (a binary search): every prefix between a prefix of
// the action and the action itself begins with that prefix, so the chain
// from there passes through all of them. NotAction statements are tested
// one by one: they match most actions.
//
// Resources: each statement's Resource patterns' literal beginnings (up to
// the first `*`, `?`, `$` or backslash, so whatever a policy variable
// becomes), kept together so that ruling a statement out touches neither
// the statement nor its strings: a request reads the index's few cache
// lines, not the statements' scattered ones.
//
// Built once when a policy is compiled (ParsePolicy: Add each statement,
// then Finish). Self-contained: it keeps its own copy of the text it
// compares and names statements by position, so a Policy holding it can be
// copied and moved freely.
//
// Patterns and actions are lower case (IAM compares actions without case;
// ParsePolicy lowers the patterns once, Evaluate the request's action once).
// Find gives exactly the statements whose Action element matches the action
// (or whose NotAction element does not) and whose Resource patterns are not
// ruled out by their literal beginnings; the caller still matches the
// resource, the principal and the conditions.
//
// Header-only. Thread-safe once finished: Find is const and allocates
// nothing unless more than 32 statements match.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/policy/wildcard.h"

namespace annex::policy {

// Statement positions found by StatementIndex::Find: the first 32 inline, so a
// request allocates nothing for them.
class StatementMatches {
 public:
  void Add(uint32_t statement) {
    if (size_ < inline_.size() && spill_.empty()) {
      inline_[size_++] = statement;
    } else {
      Spill(statement);
    }
  }
  size_t size() const { return size_; }
  // The positions ascending, each once.
  std::span<const uint32_t> Sorted() {
    uint32_t* first = spill_.empty() ? inline_.data() : spill_.data();
    // Insertion sort: a request matches a few statements of each policy.
    for (size_t i = 1; i < size_; ++i) {
      uint32_t v = first[i];
      size_t j = i;
      for (; j > 0 && first[j - 1] > v; --j) first[j] = first[j - 1];
      first[j] = v;
    }
    size_ = static_cast<size_t>(std::unique(first, first + size_) - first);
    if (!spill_.empty()) spill_.resize(size_);
    return {first, size_};
  }
  void Clear() {
    size_ = 0;
    spill_.clear();
  }

 private:
  void Spill(uint32_t statement) {
    if (spill_.empty()) spill_.assign(inline_.begin(), inline_.begin() + static_cast<std::ptrdiff_t>(size_));
    spill_.push_back(statement);
    ++size_;
  }

  std::array<uint32_t, 32> inline_;  // left uninitialized: clearing it costs more than a lookup
  size_t size_ = 0;
  std::vector<uint32_t> spill_;  // all of them, once past the inline ones
};

class StatementIndex {
 public:
  // Adds the statement at position `statement` (0, 1, 2, … in order) with
  // its lower-case Action patterns, or NotAction patterns when `not_action`,
  // and its Resource patterns: empty when it has none or a NotResource
  // element, which rule no resource out.
  void Add(uint32_t statement, std::span<const std::string> patterns, bool not_action,
           std::span<const std::string> resources = {}) {
    statements_ = std::max<size_t>(statements_, size_t{statement} + 1);
    AddResources(statement, resources);
    if (not_action) {
      negated_.push_back({statement, static_cast<uint32_t>(negated_patterns_.size()),
                          static_cast<uint32_t>(patterns.size())});
      for (const std::string& p : patterns) negated_patterns_.push_back(Store(p));
      return;
    }
    for (const std::string& p : patterns) {
      size_t literal = std::min(p.find_first_of("*?"), p.size());
      std::string_view rest = std::string_view(p).substr(literal);
      Entry e{statement, Rest::kNone, {}};
      if (!rest.empty()) {
        bool stars = rest.find_first_not_of('*') == std::string_view::npos;
        e.rest = stars ? Rest::kAnything : Rest::kPattern;
        if (!stars) e.text = Store(rest);
      }
      pending_.emplace_back(p.substr(0, literal), e);
    }
  }

  // Sorts the prefixes and links each to its parent; Add may not be called after.
  void Finish() {
    // By prefix; a prefix's entries that need the action to end there last.
    std::stable_sort(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      return a.second.rest != Rest::kNone && b.second.rest == Rest::kNone;
    });
    std::vector<uint32_t> chain;  // the current prefix's ancestors, longest last
    for (size_t i = 0; i < pending_.size(); ++i) {
      const auto& [prefix, entry] = pending_[i];
      if (prefixes_.empty() || Text(prefixes_.back().text) != prefix) {
        while (!chain.empty() && !prefix.starts_with(Text(prefixes_[chain.back()].text))) chain.pop_back();
        Prefix p;
        p.text = Store(prefix);
        p.head = Head(prefix);
        p.parent = chain.empty() ? kNone : chain.back();
        p.first_entry = static_cast<uint32_t>(entries_.size());
        chain.push_back(static_cast<uint32_t>(prefixes_.size()));
        prefixes_.push_back(p);
      }
      Prefix& p = prefixes_.back();
      ++p.entries;
      if (entry.rest != Rest::kNone) ++p.wildcard_entries;
      entries_.push_back(entry);
    }
    pending_.clear();
    pending_.shrink_to_fit();
    finished_ = true;
  }

  // Whether this index was finished for a policy of `statements` statements:
  // a policy assembled by hand has none, and is scanned statement by statement.
  bool Covers(size_t statements) const { return finished_ && statements_ == statements; }

  // An action (lower case) prepared for lookups in any number of indexes:
  // its first 8 bytes as one number, which settles most comparisons.
  struct Action {
    explicit Action(std::string_view action) : text(action), head(Head(action)) {}
    std::string_view text;
    uint64_t head;
  };

  // Adds to `out` the statements whose Action element matches `action` (or
  // whose NotAction element does not) and that `resource` does not rule out.
  // A statement with several matching patterns is added once for each.
  void Find(const Action& a, std::string_view resource, StatementMatches& out) const {
    const std::string_view action = a.text;
    auto add = [&](uint32_t statement) {
      if (MayName(statement, resource)) out.Add(statement);
    };
    // The greatest prefix not after the action, then up its chain to the
    // first that begins the action: it and all its ancestors do.
    auto after = std::upper_bound(prefixes_.begin(), prefixes_.end(), a, [this](const Action& x, const Prefix& p) {
      return x.head != p.head ? x.head < p.head : x.text < Text(p.text);
    });
    uint32_t i = after == prefixes_.begin() ? kNone : static_cast<uint32_t>(after - prefixes_.begin() - 1);
    while (i != kNone && !Begins(prefixes_[i], a)) i = prefixes_[i].parent;
    for (; i != kNone; i = prefixes_[i].parent) {
      const Prefix& p = prefixes_[i];
      const Entry* e = entries_.data() + p.first_entry;
      for (uint32_t k = 0; k < p.wildcard_entries; ++k, ++e) {
        if (e->rest == Rest::kAnything || WildcardMatch(Text(e->text), action.substr(p.text.second))) {
          add(e->statement);
        }
      }
      if (p.text.second == action.size()) {
        for (uint32_t k = p.wildcard_entries; k < p.entries; ++k, ++e) add(e->statement);
      }
    }
    for (const Negated& s : negated_) {
      bool any = false;
      for (uint32_t k = 0; k < s.patterns && !any; ++k) {
        any = WildcardMatch(Text(negated_patterns_[s.first_pattern + k]), action);
      }
      if (!any) add(s.statement);
    }
  }

 private:
  using TextRef = std::pair<uint32_t, uint32_t>;  // offset and size in text_
  static constexpr uint32_t kNone = UINT32_MAX;

  enum class Rest : uint8_t {
    kNone,      // no wildcard: the action must end where the literal prefix does
    kAnything,  // only `*` follow the prefix: any rest of the action matches
    kPattern,   // a wildcard pattern the rest must match (`text`)
  };
  struct Entry {
    uint32_t statement;
    Rest rest;
    TextRef text;
  };
  struct Prefix {
    TextRef text;
    uint64_t head;            // Head(text)
    uint32_t parent = kNone;  // the longest other prefix that begins this one
    uint32_t first_entry = 0, wildcard_entries = 0, entries = 0;  // the patterns with this prefix
  };
  struct Negated {
    uint32_t statement;
    uint32_t first_pattern, patterns;  // in negated_patterns_
  };
  struct ResourceFilter {
    uint32_t first = 0, count = 0;  // in resource_literals_; none: any resource
  };

  // The first 8 bytes of `s`, the first the most significant, zeros past its
  // end: when two strings' heads differ, they order as the strings do.
  static uint64_t Head(std::string_view s) {
    uint64_t head = 0;
    for (size_t i = 0; i < 8; ++i) {
      head = head << 8 | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
    }
    return head;
  }
  // Whether prefix `p` begins the action.
  bool Begins(const Prefix& p, const Action& a) const {
    const size_t n = p.text.second;
    if (n > a.text.size()) return false;
    if (n <= 8) return n == 0 || ((a.head ^ p.head) >> (8 * (8 - n))) == 0;
    return a.head == p.head && std::memcmp(a.text.data() + 8, text_.data() + p.text.first + 8, n - 8) == 0;
  }

  TextRef Store(std::string_view s) {
    text_.append(s);
    return {static_cast<uint32_t>(text_.size() - s.size()), static_cast<uint32_t>(s.size())};
  }
  std::string_view Text(TextRef r) const { return std::string_view(text_).substr(r.first, r.second); }

  // Statement `statement`'s literal Resource beginnings, if it has a
  // Resource element without one that matches every resource.
  void AddResources(uint32_t statement, std::span<const std::string> resources) {
    if (resource_filters_.size() <= statement) resource_filters_.resize(statement + 1);
    if (resources.empty()) return;
    ResourceFilter filter{static_cast<uint32_t>(resource_literals_.size()), 0};
    for (const std::string& r : resources) {
      std::string_view literal = std::string_view(r).substr(0, r.find_first_of("*?$\\"));
      if (literal.empty()) {  // "*" and the like: no resource is ruled out
        resource_literals_.resize(filter.first);
        return;
      }
      resource_literals_.push_back(Store(literal));
      ++filter.count;
    }
    resource_filters_[statement] = filter;
  }
  // Whether some Resource pattern of the statement can match `resource`: its
  // literal beginning begins the resource.
  bool MayName(uint32_t statement, std::string_view resource) const {
    const ResourceFilter& f = resource_filters_[statement];
    if (f.count == 0) return true;
    for (uint32_t k = f.first; k < f.first + f.count; ++k) {
      const TextRef& literal = resource_literals_[k];
      if (literal.second <= resource.size() &&
          std::memcmp(resource.data(), text_.data() + literal.first, literal.second) == 0) {
        return true;
      }
    }
    return false;
  }

  std::vector<std::pair<std::string, Entry>> pending_;  // until Finish
  std::vector<Prefix> prefixes_;                        // sorted
  std::vector<Entry> entries_;                          // by prefix
  std::vector<Negated> negated_;
  std::vector<TextRef> negated_patterns_;
  std::vector<ResourceFilter> resource_filters_;  // by statement
  std::vector<TextRef> resource_literals_;
  std::string text_;
  size_t statements_ = 0;
  bool finished_ = false;
};

}  // namespace annex::policy
