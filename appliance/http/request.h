#pragma once
// Request and Response: the protocol-neutral view of one HTTP exchange that
// services see. The transport (Beast, TLS) stays inside http/server.cc.

#include <cstdint>
#include <optional>
#include <string>

#include "appliance/http/headers.h"
#include "appliance/http/query.h"

namespace annex::http {

struct Request {
  std::string method;          // "GET", upper-case as received
  std::string target;          // request-target exactly as received
  std::string raw_path;        // target up to '?', still percent-encoded
  std::string path;            // raw_path percent-decoded
  std::string raw_query;       // after '?', still encoded ("" if none)
  QueryParams query;           // decoded
  Headers headers;
  std::optional<uint64_t> content_length;  // absent for chunked or no body
  bool tls = false;
  std::string remote_address;  // "ip:port"
  std::string request_id;      // assigned by the server, echoed as x-amz-request-id

  // The Host header without a port.
  std::string HostWithoutPort() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

// Splits `target` into raw_path/path/raw_query/query. InvalidArgument when the
// path or query has a bad percent escape.
Status ParseTarget(std::string_view target, Request& request);

}  // namespace annex::http
