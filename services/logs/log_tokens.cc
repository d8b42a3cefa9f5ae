#include "services/logs/log_tokens.h"

#include <charconv>
#include <vector>

#include "services/logs/logs_params.h"

namespace annex::logs {
namespace {

Status BadToken() { return InvalidParameter("The specified nextToken is invalid."); }

// Splits "a/b/c" into integers of the given signedness.
template <typename... T>
bool ParseFields(std::string_view s, T&... out) {
  bool ok = true;
  auto one = [&](auto& v) {
    if (!ok) return;
    size_t slash = s.find('/');
    std::string_view field = s.substr(0, slash);
    auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    ok = ec == std::errc() && p == field.data() + field.size() && !field.empty();
    s = slash == std::string_view::npos ? std::string_view() : s.substr(slash + 1);
  };
  (one(out), ...);
  return ok && s.empty();
}

}  // namespace

std::string EncodeStreamToken(const StreamToken& token) {
  return std::string(token.forward ? "f/" : "b/") + std::to_string(token.position.timestamp_ms) + "/" +
         std::to_string(token.position.seq);
}

Result<StreamToken> DecodeStreamToken(std::string_view token) {
  if (token.size() < 3 || (token[0] != 'f' && token[0] != 'b') || token[1] != '/') return BadToken();
  StreamToken t;
  t.forward = token[0] == 'f';
  if (!ParseFields(token.substr(2), t.position.timestamp_ms, t.position.seq)) return BadToken();
  return t;
}

std::string EncodeGroupToken(const GroupPosition& p) {
  return "g/" + std::to_string(p.timestamp_ms) + "/" + std::to_string(p.stream_id) + "/" + std::to_string(p.seq);
}

Result<GroupPosition> DecodeGroupToken(std::string_view token) {
  if (!token.starts_with("g/")) return BadToken();
  GroupPosition p;
  if (!ParseFields(token.substr(2), p.timestamp_ms, p.stream_id, p.seq)) return BadToken();
  return p;
}

}  // namespace annex::logs
