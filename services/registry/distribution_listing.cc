// tags/list and _catalog, paginated as the distribution spec says: `n`
// entries after `last`, and a Link header naming the next page while more
// remain.

#include <nlohmann/json.hpp>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "services/registry/distribution_call.h"
#include "services/registry/distribution_errors.h"

namespace annex::registry {
namespace {

constexpr uint64_t kMaxPage = 1000;  // ECR's largest page

struct Page {
  size_t n = 0;  // 0: everything
  std::string last;
};

Result<Page> ParsePage(const http::Request& request) {
  Page page;
  if (const std::string* n = request.query.Get("n")) {
    std::optional<uint64_t> parsed = ParseUint(*n);
    if (!parsed || *parsed > kMaxPage) {
      return DistributionError("PAGINATION_NUMBER_INVALID",
                               "invalid number of results requested: n must be between 0 and 1000");
    }
    // n=0 asks for nothing; distribution answers with an empty page.
    page.n = *parsed;
  }
  if (const std::string* last = request.query.Get("last")) page.last = *last;
  return page;
}

http::Response JsonPage(std::string_view path, const Page& page, const std::vector<std::string>& items,
                        bool more, nlohmann::json body) {
  http::Response r = DistributionResponse(200);
  r.headers.Set("content-type", "application/json");
  if (more && !items.empty()) {
    r.headers.Set("link", "<" + std::string(path) + "?last=" + UriEncode(items.back(), false) +
                              "&n=" + std::to_string(page.n) + ">; rel=\"next\"");
  }
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// Trims a list fetched with one extra entry; true when that entry existed.
bool TrimToPage(std::vector<std::string>& items, const Page& page) {
  if (page.n == 0 || items.size() <= page.n) return false;
  items.resize(page.n);
  return true;
}

}  // namespace

Task<Status> HandleTagsRequest(DistributionCall& call) {
  call.ctx.operation = "ListImages";
  if (call.request().method != "GET") co_return DistributionError("UNSUPPORTED", "The operation is unsupported.");
  ANNEX_CO_RETURN_IF_ERROR(AuthorizeRepository(call, "ecr:ListImages").status());
  ANNEX_CO_ASSIGN_OR_RETURN(Page page, ParsePage(call.request()));
  std::vector<std::string> tags;
  if (page.n > 0 || !call.request().query.Has("n")) {
    ANNEX_CO_ASSIGN_OR_RETURN(tags, call.store().ListTags(call.account, call.path.name, page.last,
                                                          page.n ? page.n + 1 : 0));
  }
  bool more = TrimToPage(tags, page);
  nlohmann::json body = {{"name", call.path.name}, {"tags", tags}};
  co_return co_await call.ctx.response.Send(
      JsonPage("/v2/" + call.path.name + "/tags/list", page, tags, more, std::move(body)));
}

Task<Status> HandleCatalogRequest(DistributionCall& call) {
  call.ctx.operation = "Catalog";
  if (call.request().method != "GET") co_return DistributionError("UNSUPPORTED", "The operation is unsupported.");
  ANNEX_CO_ASSIGN_OR_RETURN(Page page, ParsePage(call.request()));
  // Only the caller's own repositories, and of those what it may describe.
  call.account = call.ctx.principal.account_id;
  const bool everything = call.ctx.principal.is_root();
  const size_t want = page.n ? page.n + 1 : 0;
  std::vector<std::string> names;
  std::string after = page.last;
  const bool asked_for_none = call.request().query.Has("n") && page.n == 0;
  while (!asked_for_none) {
    const size_t batch = want ? want : kMaxPage;
    ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> listed, call.store().Catalog(call.account, after, batch));
    for (const std::string& name : listed) {
      if (want && names.size() == want) break;
      if (everything || MayListRepository(call, name, "ecr:DescribeRepositories")) names.push_back(name);
    }
    if (listed.size() < batch || (want && names.size() == want)) break;
    after = listed.back();
  }
  bool more = TrimToPage(names, page);
  nlohmann::json body = {{"repositories", names}};
  co_return co_await call.ctx.response.Send(JsonPage("/v2/_catalog", page, names, more, std::move(body)));
}

}  // namespace annex::registry
