#pragma once
// Byte and text helpers shared by every protocol: hex, base64, URI encoding
// (RFC 3986 as SigV4 and S3 define it), case folding and HTTP/ISO dates.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace annex {

std::string HexEncode(std::span<const uint8_t> bytes);
inline std::string HexEncode(std::string_view bytes) {
  return HexEncode({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}
// Lower- or upper-case hex; nullopt on odd length or a non-hex digit.
std::optional<std::string> HexDecode(std::string_view hex);

std::string Base64Encode(std::string_view bytes);
// Strict standard alphabet with padding; nullopt on anything else.
std::optional<std::string> Base64Decode(std::string_view text);

// RFC 3986 unreserved characters: ALPHA / DIGIT / "-" / "." / "_" / "~".
constexpr bool IsUriUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Percent-encodes every byte outside A-Z a-z 0-9 - . _ ~ ; keeps '/' when
// `keep_slash` (the SigV4 canonical URI and S3 key encoding rules).
std::string UriEncode(std::string_view in, bool keep_slash);
// Decodes %XX escapes; '+' stays '+' unless `plus_is_space`. nullopt on a bad escape.
std::optional<std::string> UriDecode(std::string_view in, bool plus_is_space = false);

std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
std::string_view Trim(std::string_view s);
// Without leading and trailing white space of any kind (spaces, tabs, CR, LF): a command's output.
std::string_view TrimWhitespace(std::string_view s);
// Whether `text` matches `pattern`, in which `*` stands for any run of
// characters (none included) and everything else for itself. Linear in
// practice (backtracks to the last star only), so a hostile pattern costs
// no more than a long one. Log filter terms, CORS origins, lifecycle tags.
bool StarMatch(std::string_view text, std::string_view pattern, bool ignore_case = false);
std::vector<std::string_view> Split(std::string_view s, char sep);

// Parses a non-negative decimal that fits in uint64 with no sign or junk.
std::optional<uint64_t> ParseUint(std::string_view s);

using SystemTime = std::chrono::system_clock::time_point;

// 20130524T000000Z
std::string FormatAmzDate(SystemTime t);
std::optional<SystemTime> ParseAmzDate(std::string_view s);
// 2013-05-24T00:00:00.000Z
std::string FormatIso8601(SystemTime t);
// FormatIso8601 of unix milliseconds; "" for 0, which stores use for "never".
std::string FormatIso8601Ms(int64_t unix_ms);
// FormatIso8601's form; the fraction is optional (up to 9 digits, kept to
// milliseconds).
std::optional<SystemTime> ParseIso8601(std::string_view s);
// Fri, 24 May 2013 00:00:00 GMT
std::string FormatHttpDate(SystemTime t);
// RFC 7231 IMF-fixdate (also accepts RFC 850 and asctime forms).
std::optional<SystemTime> ParseHttpDate(std::string_view s);

}  // namespace annex

namespace annex {
// Escapes `s` for use inside a JSON string literal (no quotes added).
std::string JsonEscape(std::string_view s);
}  // namespace annex
