#include "services/logs/logs_service.h"

#include <array>
#include <utility>

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "appliance/service/authorizer.h"
#include "services/logs/logs_call.h"
#include "services/logs/logs_errors.h"

namespace annex::logs {
namespace {

constexpr std::string_view kTargetPrefix = "Logs_20140328.";
// A full batch is 1 MiB of messages; JSON escaping can grow it a few times.
constexpr size_t kMaxBody = size_t{8} << 20;

using Operation = Task<Answer> (*)(LogsCall&);

struct NamedOperation {
  std::string_view name;
  Operation run;
};

constexpr auto kOperations = std::to_array<NamedOperation>({
    {"CreateLogGroup", CreateLogGroup},
    {"CreateLogStream", CreateLogStream},
    {"DeleteLogGroup", DeleteLogGroup},
    {"DeleteLogStream", DeleteLogStream},
    {"DeleteRetentionPolicy", DeleteRetentionPolicy},
    {"DescribeLogGroups", DescribeLogGroups},
    {"DescribeLogStreams", DescribeLogStreams},
    {"FilterLogEvents", FilterLogEvents},
    {"GetLogEvents", GetLogEvents},
    {"ListTagsForResource", ListTagsForResource},
    {"ListTagsLogGroup", ListTagsLogGroup},
    {"PutLogEvents", PutLogEvents},
    {"PutRetentionPolicy", PutRetentionPolicy},
    {"TagLogGroup", TagLogGroup},
    {"TagResource", TagResource},
    {"UntagLogGroup", UntagLogGroup},
    {"UntagResource", UntagResource},
});

const NamedOperation* FindOperation(std::string_view name) {
  for (const auto& op : kOperations) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

// The resource a request is authorized on, as the authorization reference
// names it: the log stream for the operations on one, else the log group,
// else the ARN a tagging operation names, else "*" (account-wide listings).
std::string AuthorizedResource(std::string_view op, const LogsParams& params, const service::RequestContext& ctx) {
  auto text = [&](std::string_view name) -> std::string {
    const Json* j = params.Member(name);
    return j && j->is_string() ? j->get<std::string>() : std::string();
  };
  std::string group_arn = "arn:aws:logs:" + ctx.region + ":" + ctx.principal.account_id + ":log-group:";
  std::string group = text("logGroupName");
  if (std::string id = text("logGroupIdentifier"); group.empty() && !id.empty()) {
    if (id.starts_with("arn:")) return id.ends_with(":*") ? id.substr(0, id.size() - 2) : id;
    group = id;
  }
  if (!group.empty()) {
    std::string stream = text("logStreamName");
    bool on_stream = op == "PutLogEvents" || op == "GetLogEvents" || op == "DeleteLogStream";
    return group_arn + group + (on_stream && !stream.empty() ? ":log-stream:" + stream : "");
  }
  if (std::string arn = text("resourceArn"); !arn.empty()) return arn.ends_with(":*") ? arn.substr(0, arn.size() - 2) : arn;
  return "*";
}

class LogsService final : public service::Service {
 public:
  LogsService(LogStore& store, const service::Authorizer* authorizer) : store_(store), authorizer_(authorizer) {}

  const service::Descriptor& descriptor() const override {
    static const service::Descriptor d = [] {
      service::Descriptor d;
      d.name = "logs";
      d.signing_names = {"logs"};
      d.target_prefixes = {std::string(kTargetPrefix)};
      d.protocol = service::Protocol::kJson11;
      d.auth = service::AuthMode::kSigV4;
      d.max_request_body_bytes = kMaxBody;  // larger ones are refused (413) before a byte is read
      d.errors.assign(kLogsErrors.begin(), kLogsErrors.end());
      return d;
    }();
    return d;
  }

  http::Task<Status> Handle(service::RequestContext& ctx) override {
    const std::string* target = ctx.request.headers.Get("x-amz-target");
    std::string_view name = target ? std::string_view(*target) : std::string_view();
    const NamedOperation* op = name.starts_with(kTargetPrefix) ? FindOperation(name.substr(kTargetPrefix.size())) : nullptr;
    // Unknown names stay out of metrics labels: the client chooses them.
    ctx.operation = op ? std::string(op->name) : "UnknownOperation";
    if (!op) co_return http::ApiStatus("UnknownOperationException", "Unknown operation " + std::string(name));
    if (ctx.principal.anonymous) co_return http::ApiStatus("AccessDenied", "Request must be signed");

    Result<std::string> body = co_await http::ReadSmallBody(ctx.body, kMaxBody);
    if (!body.ok()) {
      if (body.status().subcode() == "MaxMessageLengthExceeded") {
        co_return http::ApiStatus("InvalidParameterException",
                                  "Request body larger than " + std::to_string(kMaxBody) + " bytes");
      }
      co_return body.status();
    }
    ANNEX_CO_ASSIGN_OR_RETURN(LogsParams params, LogsParams::Parse(*body));
    ANNEX_CO_RETURN_IF_ERROR(Authorize(ctx, op->name, params));
    int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock.Now().time_since_epoch()).count();
    LogsCall call{ctx, params, store_, ctx.principal.account_id, now_ms};
    Answer answer = co_await op->run(call);
    if (!answer.ok()) co_return answer.status();
    http::Response response;
    response.headers.Set("content-type", "application/x-amz-json-1.1");
    // Messages are stored as given: invalid UTF-8 goes out replaced, not as an error.
    response.body = answer->dump(-1, ' ', false, Json::error_handler_t::replace);
    ctx.bytes_out = response.body.size();
    co_return co_await ctx.response.Send(std::move(response));
  }

  void AppendMetrics(std::string& out) const override {
    out += "# HELP annex_logs_stored_bytes Message bytes held by the log store.\n# TYPE annex_logs_stored_bytes gauge\n";
    out += "annex_logs_stored_bytes " + std::to_string(store_.stored_bytes()) + "\n";
  }

 private:
  // The root of the account acts freely in it; its users as their IAM policies allow.
  Status Authorize(const service::RequestContext& ctx, std::string_view op, const LogsParams& params) const {
    if (ctx.principal.is_root()) return Status::OK();
    service::AccessRequest request;
    request.action = "logs:" + std::string(op);
    request.resource = AuthorizedResource(op, params, ctx);
    policy::AuthorizationRequest evaluated;
    if (authorizer_) {
      policy::Verdict v = authorizer_->Check(ctx, request, &evaluated);
      if (v.allowed()) return Status::OK();
      return http::ApiStatus("AccessDeniedException", policy::DenialMessage(evaluated, v));
    }
    return http::ApiStatus("AccessDeniedException", "User: " + ctx.principal.arn + " is not authorized to perform: " +
                                                         request.action);
  }

  LogStore& store_;
  const service::Authorizer* authorizer_;
};

}  // namespace

std::unique_ptr<service::Service> NewLogsService(LogStore& store, const service::Authorizer* authorizer) {
  return std::make_unique<LogsService>(store, authorizer);
}

Result<service::Module> NewModule(const service::Environment& env) {
  if (!env.log_store) return Status::FailedPrecondition("the logs service needs the platform's log store");
  service::Module module;
  module.service = NewLogsService(*env.log_store, env.authorizer);
  return module;
}

}  // namespace annex::logs
