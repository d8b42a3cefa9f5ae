#pragma once
// JsonScanner: a pull reader over one JSON text, for the few request bodies
// that are large and regular enough for a DOM to dominate their cost (a
// PutLogEvents batch: 1,000 strings in 1,000 small objects). It reads what
// the caller asks for, in order, and answers false on anything it does not
// accept — invalid JSON, but also valid JSON it leaves to the general parser
// (a fraction where an integer is wanted, nesting deeper than kMaxDepth).
// What it accepts, it decodes exactly as nlohmann::json would: the caller
// can always fall back to nlohmann on false and get the same meaning and
// that parser's errors.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace annex {

class JsonScanner {
 public:
  static constexpr int kMaxDepth = 64;

  explicit JsonScanner(std::string_view text) : text_(text) {}

  // Skips whitespace, then consumes `c` if it is next.
  bool Consume(char c);
  // A string, unescaped, into `out` (replacing its contents). Refuses
  // control characters, bad escapes, unpaired surrogates and invalid UTF-8.
  bool ReadString(std::string& out);
  // An integer within int64 (no fraction or exponent).
  bool ReadInt64(int64_t& out);
  // Any one value, without decoding it; `begin`/`end` of its text.
  bool SkipValue(size_t& begin, size_t& end);
  // Only whitespace is left.
  bool AtEnd();

 private:
  void SkipWhitespace();
  bool SkipValueAt(int depth);
  bool SkipString();
  bool SkipNumber();
  bool SkipLiteral(std::string_view word);
  // The code point of a \uXXXX escape at pos_ (after "\u"), pairing surrogates.
  bool ReadEscapedCodePoint(uint32_t& code_point);
  // Validates one UTF-8 sequence starting at pos_ and appends it.
  bool CopyUtf8Sequence(std::string& out);

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace annex
