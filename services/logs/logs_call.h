#pragma once
// LogsCall: one CloudWatch Logs request as its operation sees it — the
// parsed parameters, the caller's account, the store — and the operations
// themselves, one function each (verify → execute → answer JSON).

#include <string>

#include "appliance/core/co_status.h"
#include "appliance/core/task.h"
#include "appliance/logs/log_store.h"
#include "appliance/service/request_context.h"
#include "services/logs/logs_params.h"

namespace annex::logs {

struct LogsCall {
  service::RequestContext& ctx;
  LogsParams& params;
  LogStore& store;
  std::string account;  // the caller's: every name is looked up within it
  int64_t now_ms = 0;

  // Runs a blocking store call (it waits for a flush) off the io thread.
  template <typename F>
  Task<std::invoke_result_t<F>> Blocking(F fn) {
    return ctx.blocking.Run(std::move(fn));
  }
};

// Store errors as the Logs API names them: NotFound → ResourceNotFoundException,
// AlreadyExists → ResourceAlreadyExistsException, InvalidArgument → InvalidParameterException.
Status ToLogsError(Status s);

// arn:aws:logs:<region>:<account>:log-group:<name>
std::string LogGroupArn(const LogsCall& call, const std::string& group);
// The group a logGroupName or logGroupIdentifier (name or ARN) names; InvalidParameterException
// when neither or both are given.
Result<std::string> GroupFromNameOrIdentifier(const LogsCall& call);

// InvalidParameterException unless 1-50 tags with keys of 1-128 and values of 0-256 characters.
Status CheckTagMap(const std::map<std::string, std::string>& tags);

using Answer = Result<Json>;

Task<Answer> CreateLogGroup(LogsCall& call);
Task<Answer> DeleteLogGroup(LogsCall& call);
Task<Answer> DescribeLogGroups(LogsCall& call);
Task<Answer> PutRetentionPolicy(LogsCall& call);
Task<Answer> DeleteRetentionPolicy(LogsCall& call);
Task<Answer> CreateLogStream(LogsCall& call);
Task<Answer> DeleteLogStream(LogsCall& call);
Task<Answer> DescribeLogStreams(LogsCall& call);
Task<Answer> PutLogEvents(LogsCall& call);
Task<Answer> GetLogEvents(LogsCall& call);
Task<Answer> FilterLogEvents(LogsCall& call);
Task<Answer> TagLogGroup(LogsCall& call);
Task<Answer> UntagLogGroup(LogsCall& call);
Task<Answer> ListTagsLogGroup(LogsCall& call);
Task<Answer> TagResource(LogsCall& call);
Task<Answer> UntagResource(LogsCall& call);
Task<Answer> ListTagsForResource(LogsCall& call);

}  // namespace annex::logs
