#include "appliance/daemon/admin_service.h"

#include <nlohmann/json.hpp>

#include "appliance/core/strings.h"

namespace annex::daemon {
namespace {

using nlohmann::json;

// Built outside coroutines: g++ 12 miscompiles brace-initialised JSON inside them.
json AccountJson(const iam::Account& a, const iam::AccessKey* key) {
  json out = {{"AccountId", a.id}, {"AccountName", a.name}, {"CreateDate", FormatIso8601(a.created)}};
  if (key) {
    out["AccessKeyId"] = key->access_key_id;
    out["SecretAccessKey"] = key->secret_access_key;
  }
  return out;
}

class AdminService final : public service::Service {
 public:
  AdminService(iam::IdentityStore& identities, std::string root_account_id, std::function<std::string()> sync_status)
      : identities_(identities), root_account_id_(std::move(root_account_id)), sync_status_(std::move(sync_status)) {}

  std::string_view name() const override { return "annex"; }

  http::Response RenderError(const http::ApiError& error, std::string_view request_id) const override {
    http::Response r = http::RenderJsonError(error, request_id);
    r.headers.Set("content-type", "application/json");
    return r;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    if (ctx.principal.anonymous || !ctx.principal.is_root() || ctx.principal.account_id != root_account_id_) {
      co_return http::ApiStatus("AccessDenied", "Only the appliance's root credentials may use the admin API");
    }
    const std::string& path = ctx.request.path;
    if (path == "/_annex/api/accounts" && ctx.request.method == "POST") {
      ctx.operation = "CreateAccount";
      Result<std::string> body = co_await http::ReadSmallBody(ctx.body, 64 * 1024);
      if (!body.ok()) co_return body.status();
      json in = json::parse(*body, nullptr, /*allow_exceptions=*/false);
      if (!in.is_object() || !in.contains("name") || !in["name"].is_string()) {
        co_return http::ApiStatus("ValidationError", "body must be {\"name\": \"ACCOUNT-NAME\"}");
      }
      auto created = identities_.CreateAccount(in["name"].get<std::string>());
      if (!created.ok()) co_return created.status();
      co_return co_await SendJson(ctx, AccountJson(created->first, &created->second));
    }
    if (path == "/_annex/api/accounts" && ctx.request.method == "GET") {
      ctx.operation = "ListAccounts";
      auto accounts = identities_.ListAccounts();
      if (!accounts.ok()) co_return accounts.status();
      json list = json::array();
      for (const auto& a : *accounts) list.push_back(AccountJson(a, nullptr));
      json out = json::object();
      out["Accounts"] = std::move(list);
      co_return co_await SendJson(ctx, out);
    }
    if (path == "/_annex/api/sync" && ctx.request.method == "GET" && sync_status_) {
      ctx.operation = "SyncStatus";
      http::Response r;
      r.headers.Set("content-type", "application/json");
      r.body = sync_status_();
      co_return co_await ctx.response.Send(std::move(r));
    }
    co_return http::ApiStatus("NotFound", "no such admin endpoint: " + ctx.request.method + " " + path);
  }

 private:
  static http::Task<Status> SendJson(service::RequestContext& ctx, const json& body) {
    http::Response r;
    r.headers.Set("content-type", "application/json");
    r.body = body.dump(2) + "\n";
    co_return co_await ctx.response.Send(std::move(r));
  }

  iam::IdentityStore& identities_;
  std::string root_account_id_;
  std::function<std::string()> sync_status_;
};

}  // namespace

std::unique_ptr<service::Service> NewAdminService(iam::IdentityStore& identities, std::string root_account_id,
                                                  std::function<std::string()> sync_status) {
  return std::make_unique<AdminService>(identities, std::move(root_account_id), std::move(sync_status));
}

}  // namespace annex::daemon
