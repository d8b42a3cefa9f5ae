#include "appliance/service/query_protocol.h"

#include <charconv>
#include <optional>
#include <utility>

#include "appliance/http/api_error.h"

namespace annex::service {
namespace {

// "<list>.<member>.<N>" at the start of `name`: N, and what follows it.
std::optional<std::pair<uint64_t, std::string_view>> ListIndex(std::string_view name, std::string_view list,
                                                               std::string_view member) {
  if (!name.starts_with(list) || name.size() <= list.size() || name[list.size()] != '.') return std::nullopt;
  name.remove_prefix(list.size() + 1);
  if (!name.starts_with(member) || name.size() <= member.size() || name[member.size()] != '.') return std::nullopt;
  name.remove_prefix(member.size() + 1);
  uint64_t index = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
  if (ec != std::errc() || index == 0) return std::nullopt;
  return std::make_pair(index, name.substr(static_cast<size_t>(end - name.data())));
}

}  // namespace

std::vector<std::map<std::string, std::string>> QueryStructList(const http::QueryParams& params,
                                                                 std::string_view list, std::string_view member) {
  std::map<uint64_t, std::map<std::string, std::string>> items;
  for (const auto& [name, value] : params.params()) {
    auto at = ListIndex(name, list, member);
    if (!at || at->second.size() < 2 || at->second[0] != '.') continue;
    items[at->first].emplace(std::string(at->second.substr(1)), value);
  }
  std::vector<std::map<std::string, std::string>> out;
  for (auto& [index, fields] : items) out.push_back(std::move(fields));
  return out;
}

std::vector<std::string> QueryStringList(const http::QueryParams& params, std::string_view list,
                                         std::string_view member) {
  std::map<uint64_t, std::string> items;
  for (const auto& [name, value] : params.params()) {
    auto at = ListIndex(name, list, member);
    if (at && at->second.empty()) items.emplace(at->first, value);
  }
  std::vector<std::string> out;
  for (auto& [index, value] : items) out.push_back(std::move(value));
  return out;
}

http::Task<Result<http::QueryParams>> ReadQueryRequest(RequestContext& ctx) {
  Result<std::string> body = co_await http::ReadSmallBody(ctx.body, 1 << 20);
  if (!body.ok()) co_return body.status();
  std::string raw = ctx.request.raw_query;
  if (!body->empty()) raw = raw.empty() ? *body : raw + "&" + *body;
  auto params = http::QueryParams::Parse(raw, true);
  if (!params.ok()) co_return http::ApiStatus("MalformedQueryString", params.status().message());
  if (!params->Get("Action")) co_return http::ApiStatus("MissingAction", "Missing Action");
  co_return std::move(*params);
}

http::Task<Status> SendQueryResponse(RequestContext& ctx, std::string xml) {
  http::Response response;
  response.headers.Set("content-type", "text/xml");
  response.body = std::move(xml);
  co_return co_await ctx.response.Send(std::move(response));
}

}  // namespace annex::service
