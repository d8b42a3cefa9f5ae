#include "services/logs/logs_service.h"

#include <array>
#include <utility>

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
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

class LogsService final : public service::Service {
 public:
  explicit LogsService(LogStore& store) : store_(store) {}

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
  LogStore& store_;
};

}  // namespace

std::unique_ptr<service::Service> NewLogsService(LogStore& store) { return std::make_unique<LogsService>(store); }

Result<service::Module> NewModule(const service::Environment& env) {
  if (!env.log_store) return Status::FailedPrecondition("the logs service needs the platform's log store");
  service::Module module;
  module.service = NewLogsService(*env.log_store);
  return module;
}

}  // namespace annex::logs
