#pragma once
// The pagination tokens of GetLogEvents ("f/…" forward, "b/…" backward:
// events after / before a stream position) and FilterLogEvents (a position
// in a group's merged order). Opaque to clients; a token that does not parse
// is an InvalidParameterException.

#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/logs/log_store.h"

namespace annex::logs {

struct StreamToken {
  bool forward = true;
  StreamPosition position;
};

std::string EncodeStreamToken(const StreamToken& token);
Result<StreamToken> DecodeStreamToken(std::string_view token);

std::string EncodeGroupToken(const GroupPosition& position);
Result<GroupPosition> DecodeGroupToken(std::string_view token);

}  // namespace annex::logs
