#pragma once
// OperatorCall: one authenticated operator API request as the protocol
// handlers (ec2_api.h, json_api.h) see it. The handlers are synchronous: the
// body has been read and verified whole (it is small), and registry calls
// are short LMDB transactions.

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/http/request.h"

namespace annex::sync {

struct OperatorCall {
  const http::Request& request;
  std::string_view body;  // the whole request body, its signature verified
  int64_t now_unix_ms = 0;
  std::string operation = "Unknown";  // set by the handler, for the access log
};

}  // namespace annex::sync
