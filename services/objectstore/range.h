#pragma once
// HTTP Range headers as S3 interprets them (RFC 9110 §14): one byte range,
// "bytes=a-b", "bytes=a-" or the suffix form "bytes=-n". Multiple ranges and
// malformed headers are ignored (the whole object is served), as S3 does.

#include <cstdint>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::objectstore {

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
  uint64_t last() const { return first + length - 1; }
};

struct RangeSpec {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  ByteRange range;  // valid for kPartial
};

// Resolves a Range header against an object of `size` bytes.
RangeSpec ParseRange(std::string_view header, uint64_t size);

// x-amz-copy-source-range: must be exactly "bytes=a-b" inside the source,
// else InvalidArgument / InvalidRange.
Result<ByteRange> ParseCopySourceRange(std::string_view header, uint64_t size);

}  // namespace annex::objectstore
