#include "appliance/service/query_protocol.h"

#include "appliance/http/api_error.h"

namespace annex::service {

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
