#pragma once
// LogRefusal: one structured line for each privileged request a service
// refuses (AccessDenied, ValidationError on an identity parameter), so an
// operator can see who tried what, on what, from where:
//
//   … info "privileged request refused" principal=arn:aws:iam::…:user/mallory
//     access_key_id=AKIA… action=iam:CreateAccessKey target=arn:aws:iam::…:root
//     code=AccessDenied remote=10.0.0.7:51234 request_id=… reason="…"
//
// The line is written at info level, like the access log line every
// request gets: warnings are rate-limited per message, and a prober must not
// be able to use up that budget to hide its later attempts.
//
// Values that came from the request are cut to a bounded length and reduced
// to printable ASCII first: a refused request must not be able to forge log
// lines or make them huge.

#include <string>
#include <string_view>

#include "appliance/core/log.h"
#include "appliance/core/status.h"
#include "appliance/service/request_context.h"

namespace annex::service {

// `raw` as printable ASCII ('?' for anything else), at most `max` characters.
inline std::string LogSafe(std::string_view raw, size_t max = 128) {
  std::string out;
  for (char c : raw.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  if (raw.size() > max) out += "...";
  return out;
}

// `action` like "iam:CreateAccessKey"; `target` the resource or raw value it named.
inline void LogRefusal(const RequestContext& ctx, std::string_view action, std::string_view target, const Status& why) {
  std::string principal = ctx.principal.anonymous ? std::string("anonymous") : ctx.principal.arn;
  std::string safe_action = LogSafe(action), safe_target = LogSafe(target);
  std::string code = why.subcode().empty() ? std::string(StatusCodeName(why.code())) : why.subcode();
  std::string reason = LogSafe(why.message(), 256);
  log::Info("privileged request refused", {{"principal", principal},
                                           {"access_key_id", ctx.principal.access_key_id},
                                           {"action", safe_action},
                                           {"target", safe_target},
                                           {"code", code},
                                           {"remote", ctx.request.remote_address},
                                           {"request_id", ctx.request.request_id},
                                           {"reason", reason}});
}

}  // namespace annex::service
