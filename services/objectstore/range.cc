#include "services/objectstore/range.h"

#include <optional>

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"

namespace annex::objectstore {
namespace {

struct RawRange {
  std::optional<uint64_t> first;
  std::optional<uint64_t> last;
};

// "bytes=a-b" / "bytes=a-" / "bytes=-n" → numbers; nullopt when malformed or
// when it names several ranges.
std::optional<RawRange> ParseRaw(std::string_view header) {
  header = Trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (!StartsWith(header, kUnit)) return std::nullopt;
  std::string_view spec = Trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  RawRange r;
  if (!a.empty()) {
    r.first = ParseUint(a);
    if (!r.first) return std::nullopt;
  }
  if (!b.empty()) {
    r.last = ParseUint(b);
    if (!r.last) return std::nullopt;
  }
  if (!r.first && !r.last) return std::nullopt;
  if (r.first && r.last && *r.last < *r.first) return std::nullopt;
  return r;
}

}  // namespace

RangeSpec ParseRange(std::string_view header, uint64_t size) {
  RangeSpec out;
  auto raw = ParseRaw(header);
  if (!raw) return out;
  if (!raw->first) {
    // Suffix range: the last n bytes.
    uint64_t n = *raw->last;
    if (n == 0 || size == 0) {
      out.kind = RangeSpec::Kind::kUnsatisfiable;
      return out;
    }
    if (n > size) n = size;
    out.kind = RangeSpec::Kind::kPartial;
    out.range = {size - n, n};
    return out;
  }
  if (*raw->first >= size) {
    out.kind = RangeSpec::Kind::kUnsatisfiable;
    return out;
  }
  uint64_t last = raw->last ? std::min(*raw->last, size - 1) : size - 1;
  out.kind = RangeSpec::Kind::kPartial;
  out.range = {*raw->first, last - *raw->first + 1};
  return out;
}

Result<ByteRange> ParseCopySourceRange(std::string_view header, uint64_t size) {
  auto raw = ParseRaw(header);
  if (!raw || !raw->first || !raw->last) {
    return http::ApiStatus("InvalidArgument",
                           "The x-amz-copy-source-range value must be of the form bytes=first-last where first and "
                           "last are the zero-based offsets of the first and last bytes to copy");
  }
  if (*raw->last >= size) {
    return http::ApiStatus("InvalidRange", "The requested range is not satisfiable");
  }
  return ByteRange{*raw->first, *raw->last - *raw->first + 1};
}

}  // namespace annex::objectstore
