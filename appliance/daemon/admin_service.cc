#include "appliance/daemon/admin_service.h"

#include <nlohmann/json.hpp>

#include "appliance/core/strings.h"
#include "appliance/daemon/sync_link.h"
#include "appliance/iam/iam_service.h"
#include "appliance/service/refusal_log.h"

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

// {"control_plane": "HOST:PORT", "token": "TOKEN", "force": BOOL}; which field is wrong, as ValidationError.
Result<SyncEnrollRequest> ParseEnrollRequest(const std::string& body) {
  json in = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) {
    return http::ApiStatus("ValidationError",
                           "body must be {\"control_plane\": \"HOST:PORT\", \"token\": \"TOKEN\", \"force\": false}");
  }
  SyncEnrollRequest r;
  for (auto [field, out] : {std::pair{"control_plane", &r.control_plane}, std::pair{"token", &r.token}}) {
    if (!in.contains(field) || !in[field].is_string() || in[field].get<std::string>().empty()) {
      return http::ApiStatus("ValidationError", std::string(field) + " is required (a non-empty string)");
    }
    *out = in[field].get<std::string>();
  }
  if (in.contains("force")) {
    if (!in["force"].is_boolean()) return http::ApiStatus("ValidationError", "force must be true or false");
    r.force = in["force"].get<bool>();
  }
  return r;
}

// The appliance root's own identity: its root account, and that account's
// root rather than one of its users — with its long-term key, not a session
// (GetSessionToken) of it. Holding some key of the root account is not enough.
bool IsApplianceRoot(const auth::Principal& p, const std::string& root_account_id) {
  return !p.anonymous && !root_account_id.empty() && p.account_id == root_account_id && p.is_root() &&
         !p.session && p.arn == "arn:aws:iam::" + root_account_id + ":root";
}

// {"name": "ACCOUNT-NAME"}: a non-empty string, never a default.
Result<std::string> ParseCreateAccountRequest(const std::string& body) {
  json in = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object() || !in.contains("name") || !in["name"].is_string() || in["name"].get<std::string>().empty()) {
    return http::ApiStatus("ValidationError", "body must be {\"name\": \"ACCOUNT-NAME\"} with a non-empty name");
  }
  return in["name"].get<std::string>();
}

// SyncLink::Enroll's refusals as this API's errors.
Status EnrollError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return http::ApiStatus("ValidationError", s.message());
    case StatusCode::kAlreadyExists:
      return http::ApiStatus("AlreadyEnrolled", s.message());
    default:
      return http::ApiStatus("InternalError", "enrollment did not start: " + s.message());
  }
}

class AdminService final : public service::Service {
 public:
  AdminService(iam::IdentityStore& identities, std::string root_account_id, SyncLink* sync)
      : identities_(identities), root_account_id_(std::move(root_account_id)), sync_(sync) {}

  // The appliance's own API: SigV4 service "annex", under /_annex/api/.
  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "annex";
      d.signing_names = {"annex"};
      d.path_prefixes = {"/_annex/api/"};
      d.protocol = service::Protocol::kRestJson;
      d.auth = service::AuthMode::kSigV4;
      d.errors.assign(iam::kIamErrors.begin(), iam::kIamErrors.end());  // accounts and keys
      d.errors.push_back({"AlreadyEnrolled", 409});
      return d;
    }();
    return d;
  }

  http::Response RenderError(const http::ApiError& error, std::string_view request_id) const override {
    http::Response r = http::RenderJsonError(error, request_id);
    r.headers.Set("content-type", "application/json");
    return r;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    const std::string& path = ctx.request.path;
    if (!IsApplianceRoot(ctx.principal, root_account_id_)) {
      Status denied = http::ApiStatus("AccessDenied", "Only the appliance's root credentials may use the admin API");
      service::LogRefusal(ctx, "annex:" + ctx.request.method, path, denied);
      co_return denied;
    }
    if (path == "/_annex/api/accounts" && ctx.request.method == "POST") {
      ctx.operation = "CreateAccount";
      Result<std::string> body = co_await http::ReadSmallBody(ctx.body, 64 * 1024);
      if (!body.ok()) co_return body.status();
      Result<std::string> name = ParseCreateAccountRequest(*body);
      if (!name.ok()) co_return name.status();
      auto created = identities_.CreateAccount(*name);
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
    if (path == "/_annex/api/sync" && ctx.request.method == "GET" && sync_) {
      ctx.operation = "SyncStatus";
      co_return co_await SendSyncStatus(ctx, 200);
    }
    if (path == "/_annex/api/sync/enroll" && ctx.request.method == "POST" && sync_) {
      ctx.operation = "SyncEnroll";
      Result<std::string> body = co_await http::ReadSmallBody(ctx.body, 64 * 1024);
      if (!body.ok()) co_return body.status();
      Result<SyncEnrollRequest> request = ParseEnrollRequest(*body);
      if (!request.ok()) co_return request.status();
      // Off the io thread: it waits for the previous agent to stop.
      SyncLink* sync = sync_;
      Status started = co_await ctx.blocking.Run([sync, &request] { return sync->Enroll(*request); });
      if (!started.ok()) co_return EnrollError(started);
      co_return co_await SendSyncStatus(ctx, 202);
    }
    co_return http::ApiStatus("NotFound", "no such admin endpoint: " + ctx.request.method + " " + path);
  }

 private:
  http::Task<Status> SendSyncStatus(service::RequestContext& ctx, int status) {
    http::Response r;
    r.status = status;
    r.headers.Set("content-type", "application/json");
    r.body = sync_->StatusJson();
    co_return co_await ctx.response.Send(std::move(r));
  }

  static http::Task<Status> SendJson(service::RequestContext& ctx, const json& body) {
    http::Response r;
    r.headers.Set("content-type", "application/json");
    r.body = body.dump(2) + "\n";
    co_return co_await ctx.response.Send(std::move(r));
  }

  iam::IdentityStore& identities_;
  std::string root_account_id_;
  SyncLink* sync_;
};

}  // namespace

std::unique_ptr<service::Service> NewAdminService(iam::IdentityStore& identities, std::string root_account_id,
                                                  SyncLink* sync) {
  return std::make_unique<AdminService>(identities, std::move(root_account_id), sync);
}

}  // namespace annex::daemon
