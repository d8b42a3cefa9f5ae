#include "services/objectstore/conditionals.h"

#include <chrono>

namespace annex::objectstore {
namespace {

std::string_view Unquote(std::string_view tag) {
  tag = Trim(tag);
  if (StartsWith(tag, "W/")) tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
  return tag;
}

std::chrono::seconds Seconds(SystemTime t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch());
}

}  // namespace

bool EtagListMatches(std::string_view list, std::string_view etag) {
  for (std::string_view item : Split(list, ',')) {
    item = Trim(item);
    if (item == "*") return true;
    if (Unquote(item) == etag) return true;
  }
  return false;
}

Preconditions ParsePreconditions(const http::Headers& headers, std::string_view prefix) {
  Preconditions p;
  std::string name(prefix);
  auto get = [&](std::string_view suffix) -> const std::string* {
    name.resize(prefix.size());
    name.append(suffix);
    return headers.Get(name);
  };
  if (const std::string* v = get("if-match")) p.if_match = *v;
  if (const std::string* v = get("if-none-match")) p.if_none_match = *v;
  if (const std::string* v = get("if-modified-since")) p.if_modified_since = ParseHttpDate(*v);
  if (const std::string* v = get("if-unmodified-since")) p.if_unmodified_since = ParseHttpDate(*v);
  return p;
}

ConditionOutcome EvaluatePreconditions(const Preconditions& p, std::string_view etag, SystemTime last_modified) {
  if (p.if_match) {
    if (!EtagListMatches(*p.if_match, etag)) return ConditionOutcome::kPreconditionFailed;
  } else if (p.if_unmodified_since && Seconds(last_modified) > Seconds(*p.if_unmodified_since)) {
    return ConditionOutcome::kPreconditionFailed;
  }
  if (p.if_none_match) {
    if (EtagListMatches(*p.if_none_match, etag)) return ConditionOutcome::kNotModified;
  } else if (p.if_modified_since && Seconds(last_modified) <= Seconds(*p.if_modified_since)) {
    return ConditionOutcome::kNotModified;
  }
  return ConditionOutcome::kProceed;
}

}  // namespace annex::objectstore
