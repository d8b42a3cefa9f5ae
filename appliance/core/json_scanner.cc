#include "appliance/core/json_scanner.h"

#include <cstring>

namespace annex {
namespace {

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A byte that ends a run of plain string characters: quote, backslash,
// control character or the start of a multi-byte sequence.
bool EndsPlainRun(unsigned char c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80; }

// Whether any of 8 bytes ends a plain run, tested a word at a time (the
// classic "has a zero byte" and "has a byte less than n" tricks); messages
// are mostly plain ASCII, so this skips most of them 8 bytes per step.
bool WordEndsPlainRun(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  uint64_t special = (w & kHigh) | ((w - 0x20 * kOnes) & ~w & kHigh) | has_zero(w ^ ('"' * kOnes)) |
                     has_zero(w ^ ('\\' * kOnes));
  return special != 0;
}

// The end of the plain run starting at `pos`.
size_t PlainRunEnd(const char* data, size_t pos, size_t size) {
  while (pos + 8 <= size) {
    uint64_t w;
    std::memcpy(&w, data + pos, 8);
    if (WordEndsPlainRun(w)) break;
    pos += 8;
  }
  while (pos < size && !EndsPlainRun(static_cast<unsigned char>(data[pos]))) ++pos;
  return pos;
}

}  // namespace

void JsonScanner::SkipWhitespace() {
  while (pos_ < text_.size() && IsWhitespace(text_[pos_])) ++pos_;
}

bool JsonScanner::Consume(char c) {
  SkipWhitespace();
  if (pos_ >= text_.size() || text_[pos_] != c) return false;
  ++pos_;
  return true;
}

bool JsonScanner::AtEnd() {
  SkipWhitespace();
  return pos_ == text_.size();
}

bool JsonScanner::ReadString(std::string& out) {
  out.clear();
  if (!Consume('"')) return false;
  const char* data = text_.data();
  const size_t size = text_.size();
  while (pos_ < size) {
    size_t run = PlainRunEnd(data, pos_, size);
    out.append(data + pos_, run - pos_);
    pos_ = run;
    if (pos_ >= size) return false;
    unsigned char c = static_cast<unsigned char>(data[pos_]);
    if (c == '"') {
      ++pos_;
      return true;
    }
    if (c < 0x20) return false;
    if (c >= 0x80) {
      if (!CopyUtf8Sequence(out)) return false;
      continue;
    }
    // A backslash escape.
    if (++pos_ >= size) return false;
    char e = data[pos_++];
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = 0;
        if (!ReadEscapedCodePoint(cp)) return false;
        AppendUtf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return false;
}

bool JsonScanner::ReadEscapedCodePoint(uint32_t& code_point) {
  auto hex4 = [&](uint32_t& v) {
    if (pos_ + 4 > text_.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(text_[pos_ + i]);
      if (h < 0) return false;
      v = (v << 4) | static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return true;
  };
  uint32_t first = 0;
  if (!hex4(first)) return false;
  if (first >= 0xDC00 && first <= 0xDFFF) return false;  // a low surrogate alone
  if (first < 0xD800 || first > 0xDBFF) {
    code_point = first;
    return true;
  }
  if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') return false;
  pos_ += 2;
  uint32_t second = 0;
  if (!hex4(second) || second < 0xDC00 || second > 0xDFFF) return false;
  code_point = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
  return true;
}

// RFC 3629's table: no overlong forms, no surrogates, nothing above U+10FFFF.
bool JsonScanner::CopyUtf8Sequence(std::string& out) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text_[pos_ + i]); };
  unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return false;
  }
  if (pos_ + length > text_.size()) return false;
  if (byte(1) < low || byte(1) > high) return false;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return false;
  }
  out.append(text_.data() + pos_, length);
  pos_ += length;
  return true;
}

bool JsonScanner::ReadInt64(int64_t& out) {
  SkipWhitespace();
  size_t p = pos_;
  bool negative = p < text_.size() && text_[p] == '-';
  if (negative) ++p;
  if (p >= text_.size() || !IsDigit(text_[p])) return false;
  if (text_[p] == '0' && p + 1 < text_.size() && IsDigit(text_[p + 1])) return false;  // leading zero
  // Accumulate as a negative number: its range includes INT64_MIN.
  int64_t value = 0;
  for (; p < text_.size() && IsDigit(text_[p]); ++p) {
    int digit = text_[p] - '0';
    if (value < (INT64_MIN + digit) / 10) return false;
    value = value * 10 - digit;
  }
  if (p < text_.size() && (text_[p] == '.' || text_[p] == 'e' || text_[p] == 'E')) return false;
  if (!negative) {
    if (value == INT64_MIN) return false;
    value = -value;
  }
  out = value;
  pos_ = p;
  return true;
}

bool JsonScanner::SkipValue(size_t& begin, size_t& end) {
  SkipWhitespace();
  begin = pos_;
  if (!SkipValueAt(0)) return false;
  end = pos_;
  return true;
}

bool JsonScanner::SkipValueAt(int depth) {
  SkipWhitespace();
  if (pos_ >= text_.size()) return false;
  switch (text_[pos_]) {
    case '"': return SkipString();
    case 't': return SkipLiteral("true");
    case 'f': return SkipLiteral("false");
    case 'n': return SkipLiteral("null");
    case '[':
    case '{': {
      if (depth >= kMaxDepth) return false;
      bool object = text_[pos_] == '{';
      char close = object ? '}' : ']';
      ++pos_;
      if (Consume(close)) return true;
      do {
        if (object) {
          SkipWhitespace();
          if (!SkipString() || !Consume(':')) return false;
        }
        if (!SkipValueAt(depth + 1)) return false;
      } while (Consume(','));
      return Consume(close);
    }
    default: return SkipNumber();
  }
}

bool JsonScanner::SkipString() {
  // Validating costs little more than skipping and keeps the text's end exact.
  std::string scratch;
  return ReadString(scratch);
}

bool JsonScanner::SkipLiteral(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) return false;
  pos_ += word.size();
  return true;
}

// RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool JsonScanner::SkipNumber() {
  size_t p = pos_;
  auto digits = [&] {
    size_t start = p;
    while (p < text_.size() && IsDigit(text_[p])) ++p;
    return p > start;
  };
  if (p < text_.size() && text_[p] == '-') ++p;
  if (p < text_.size() && text_[p] == '0') {
    ++p;
  } else if (!digits()) {
    return false;
  }
  if (p < text_.size() && text_[p] == '.') {
    ++p;
    if (!digits()) return false;
  }
  if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
    ++p;
    if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
    if (!digits()) return false;
  }
  pos_ = p;
  return true;
}

}  // namespace annex
