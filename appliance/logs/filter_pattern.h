#pragma once
// FilterPattern: CloudWatch Logs filter and subscription pattern syntax,
// parsed once and matched against each message.
//
//   ""                         every event
//   ERROR                      messages containing the term (case-sensitive)
//   ERROR Exception            both terms
//   "request failed"           the phrase
//   ERROR -DEBUG               ERROR but not DEBUG
//   ?ERROR ?WARN               either term
//   { $.level = "error" }      JSON messages whose field equals the string
//                              (`*` is a wildcard; != for inequality)
//   { $.latency > 100 }        numeric comparisons: = != < > <= >=
//   { $.a = 1 && ($.b = "x" || $.c IS NULL) }, IS TRUE/FALSE/NULL, NOT EXISTS,
//   $.list[0].name selectors
//   [ip, user, ..., status = 5*, bytes > 1000]
//                              space-delimited fields ("..." and [...]
//                              group); named fields may be compared as above
//
// A message that is not JSON never matches a JSON pattern.

#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::logs {

class FilterPattern {
 public:
  // InvalidArgument with a reason for a pattern CloudWatch would refuse.
  static Result<FilterPattern> Parse(std::string_view pattern);
  FilterPattern(FilterPattern&&) noexcept;
  FilterPattern& operator=(FilterPattern&&) noexcept;
  ~FilterPattern();

  bool Matches(std::string_view message) const;
  bool matches_everything() const;

  struct Impl;

 private:
  explicit FilterPattern(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace annex::logs
