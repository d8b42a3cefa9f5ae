#include "services/objectstore/website_endpoint.h"

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/bucket_name.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/versions.h"
#include "services/objectstore/website_config.h"

namespace annex::objectstore {
namespace {

struct WebsiteError {
  int status = 404;
  std::string code;
  std::string message;
  std::string key;  // shown when set
};

std::string_view StatusText(int status) {
  switch (status) {
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Error";
  }
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// S3's website error page.
std::string HtmlErrorPage(const WebsiteError& e, std::string_view request_id) {
  std::string title = std::to_string(e.status) + " " + std::string(StatusText(e.status));
  std::string out = "<html>\n<head><title>" + title + "</title></head>\n<body>\n<h1>" + title + "</h1>\n<ul>\n";
  out += "<li>Code: " + HtmlEscape(e.code) + "</li>\n";
  out += "<li>Message: " + HtmlEscape(e.message) + "</li>\n";
  if (!e.key.empty()) out += "<li>Key: " + HtmlEscape(e.key) + "</li>\n";
  out += "<li>RequestId: " + HtmlEscape(request_id) + "</li>\n";
  out += "</ul>\n<hr/>\n</body>\n</html>\n";
  return out;
}

http::Task<Status> SendHtmlError(service::RequestContext& ctx, const WebsiteError& e) {
  http::Response r;
  r.status = e.status;
  r.headers.Set("content-type", "text/html; charset=utf-8");
  std::string page = HtmlErrorPage(e, ctx.request.request_id);
  if (ctx.request.method == "HEAD") {
    co_return co_await ctx.response.SendHead(std::move(r), page.size());
  }
  r.body = std::move(page);
  co_return co_await ctx.response.Send(std::move(r));
}

http::Task<Status> SendRedirect(service::RequestContext& ctx, const WebsiteRedirectTarget& target) {
  http::Response r;
  r.status = target.status;
  r.headers.Set("location", target.location);
  co_return co_await ctx.response.Send(std::move(r));
}

// Sends whatever GetObject sends, with its 200 turned into the error
// status the error document stands for.
class ErrorStatusWriter final : public http::ResponseWriter {
 public:
  ErrorStatusWriter(http::ResponseWriter& inner, int status) : inner_(inner), status_(status) {}
  http::Task<Status> Send(http::Response response) override {
    if (response.status == 200) response.status = status_;
    return inner_.Send(std::move(response));
  }
  http::Task<Status> SendHead(http::Response head, uint64_t content_length) override {
    if (head.status == 200) head.status = status_;
    return inner_.SendHead(std::move(head), content_length);
  }
  http::Task<Status> SendBody(std::string_view chunk) override { return inner_.SendBody(chunk); }
  http::Task<Status> SendFile(const os::RandomAccessFile& file, uint64_t offset, uint64_t length) override {
    return inner_.SendFile(file, offset, length);
  }
  bool head_sent() const override { return inner_.head_sent(); }

 private:
  http::ResponseWriter& inner_;
  int status_;
};

// What an anonymous GET of `key` finds.
struct Probe {
  int status = 200;  // 200, 403 or 404
  std::string website_redirect;
};

Result<Probe> ProbeKey(S3Call& call, const BucketRecord& bucket, const std::string& key) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  ObjectRecord object;
  ANNEX_ASSIGN_OR_RETURN(bool found, LoadCurrentVersion(txn, call.store.meta().tables(), call.bucket(), key, object));
  const bool live = found && !object.delete_marker;
  S3Target get{"s3:GetObject", ObjectArn(call.bucket(), key)};
  Probe p;
  if (!AuthorizeS3(call, bucket, Access::kReadObject, live ? &object : nullptr, &get).ok()) {
    p.status = 403;
  } else if (!live) {
    p.status = 404;
  } else {
    p.website_redirect = object.website_redirect;
  }
  return p;
}

http::Task<Status> SendObject(service::RequestContext& ctx, ObjectStore& store, const std::string& bucket,
                              const std::string& key, std::optional<int> error_status) {
  const bool head = ctx.request.method == "HEAD";
  if (!error_status) {
    S3Call call{ctx, store, S3Address{bucket, key}, head ? S3Op::kHeadObject : S3Op::kGetObject};
    co_return co_await GetObject(call, head);
  }
  // The error document: whole, whatever the request's Range or conditions.
  http::Request request = ctx.request;
  for (std::string_view h : {"range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"}) {
    request.headers.Remove(h);
  }
  ErrorStatusWriter writer(ctx.response, *error_status);
  service::RequestContext inner{request,   writer,       ctx.body,      ctx.trailers,   ctx.principal,  ctx.region,
                                ctx.clock, ctx.blocking, ctx.operation, /*bytes_in=*/0, /*bytes_out=*/0};
  S3Call call{inner, store, S3Address{bucket, key}, head ? S3Op::kHeadObject : S3Op::kGetObject};
  Status s = co_await GetObject(call, head);
  ctx.bytes_out += inner.bytes_out;
  co_return s;
}

// What the website answers a request with, besides an object.
struct WebsiteAnswer {
  std::optional<WebsiteError> error;
  std::optional<WebsiteRedirectTarget> redirect;
  std::string key;                  // the object to send, when neither
  std::optional<int> error_status;  // set when `key` is the error document
};

Result<WebsiteAnswer> Error(int status, std::string code, std::string message, std::string key = "") {
  WebsiteAnswer a;
  a.error = WebsiteError{status, std::move(code), std::move(message), std::move(key)};
  return a;
}

Result<WebsiteAnswer> Redirect(WebsiteRedirectTarget target) {
  WebsiteAnswer a;
  a.redirect = std::move(target);
  return a;
}

// Decides the answer to a website request (no I/O but LMDB reads), as an
// anonymous caller.
Result<WebsiteAnswer> Decide(service::RequestContext& ctx, ObjectStore& store, const std::string& bucket_name) {
  const std::string& method = ctx.request.method;
  if (method != "GET" && method != "HEAD") {
    return Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
  }
  std::optional<BucketRecord> bucket;
  if (ValidateBucketName(bucket_name).ok()) {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store.meta().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(bucket, GetBucket(txn, store.meta().tables(), bucket_name));
  }
  if (!bucket) return Error(404, "NoSuchBucket", "The specified bucket does not exist");
  if (bucket->website.empty()) {
    return Error(404, "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration");
  }
  ANNEX_ASSIGN_OR_RETURN(WebsiteConfig config, ParseWebsiteConfig(bucket->website));
  if (config.redirect_all_host) return Redirect(RedirectAll(config, ctx.request.raw_path));
  const std::string host = ctx.request.HostWithoutPort();
  const std::string key = ctx.request.path.empty() ? "" : ctx.request.path.substr(1);
  if (auto redirect = MatchRoutingRules(config, key, 0, host)) return Redirect(std::move(*redirect));

  std::string object_key = key;
  if (object_key.empty() || object_key.back() == '/') object_key += config.index_suffix;
  S3Call call{ctx, store, S3Address{bucket_name, object_key}, S3Op::kGetObject};
  ANNEX_ASSIGN_OR_RETURN(Probe probe, ProbeKey(call, *bucket, object_key));
  if (probe.status == 404 && object_key == key) {
    // "dir" without its slash, when "dir/index.html" exists: S3 sends the browser to "dir/".
    ANNEX_ASSIGN_OR_RETURN(Probe dir, ProbeKey(call, *bucket, key + "/" + config.index_suffix));
    if (dir.status == 200) return Redirect(WebsiteRedirectTarget{302, "/" + key + "/"});
  }
  if (probe.status == 200) {
    if (!probe.website_redirect.empty()) return Redirect(WebsiteRedirectTarget{301, probe.website_redirect});
    WebsiteAnswer a;
    a.key = object_key;
    return a;
  }
  if (auto redirect = MatchRoutingRules(config, key, probe.status, host)) return Redirect(std::move(*redirect));
  if (!config.error_key.empty()) {
    ANNEX_ASSIGN_OR_RETURN(Probe error_doc, ProbeKey(call, *bucket, config.error_key));
    if (error_doc.status == 200) {
      WebsiteAnswer a;
      a.key = config.error_key;
      a.error_status = probe.status;
      return a;
    }
  }
  if (probe.status == 403) return Error(403, "AccessDenied", "Access Denied");
  return Error(404, "NoSuchKey", "The specified key does not exist.", object_key);
}

// The website request, as an anonymous caller.
http::Task<Status> ServeAnonymous(service::RequestContext& ctx, ObjectStore& store, const std::string& bucket_name) {
  ANNEX_CO_ASSIGN_OR_RETURN(WebsiteAnswer answer, Decide(ctx, store, bucket_name));
  if (answer.error) co_return co_await SendHtmlError(ctx, *answer.error);
  if (answer.redirect) co_return co_await SendRedirect(ctx, *answer.redirect);
  co_return co_await SendObject(ctx, store, bucket_name, answer.key, answer.error_status);
}

}  // namespace

std::vector<std::string> WebsiteHostSuffixes(std::string_view domain, std::string_view region) {
  std::string d(domain);
  std::string r(region);
  return {"s3-website." + d, "s3-website-" + r + "." + d, "s3-website." + r + "." + d};
}

std::optional<std::string> WebsiteBucket(const http::Request& request, const std::vector<std::string>& suffixes) {
  std::string host = ToLower(request.HostWithoutPort());
  for (const std::string& suffix : suffixes) {
    if (host.size() > suffix.size() + 1 && std::string_view(host).ends_with(suffix) &&
        host[host.size() - suffix.size() - 1] == '.') {
      return host.substr(0, host.size() - suffix.size() - 1);
    }
  }
  return std::nullopt;
}

http::Task<Status> ServeWebsite(service::RequestContext& ctx, ObjectStore& store, std::string bucket) {
  // Always anonymous, whatever the request carries, and without its query:
  // a website serves current versions and nothing else.
  http::Request request = ctx.request;
  request.query = http::QueryParams();
  request.raw_query.clear();
  service::RequestContext anonymous{request,        ctx.response, ctx.body,     ctx.trailers,  auth::Principal(),
                                    ctx.region,     ctx.clock,    ctx.blocking, ctx.operation, /*bytes_in=*/0,
                                    /*bytes_out=*/0};
  Status s = co_await ServeAnonymous(anonymous, store, bucket);
  ctx.bytes_out = anonymous.bytes_out;
  co_return s;
}

}  // namespace annex::objectstore
