#include "appliance/core/json_scanner.h"

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace annex {
namespace {

std::optional<std::string> Scan(std::string_view text) {
  JsonScanner s(text);
  std::string out;
  if (!s.ReadString(out) || !s.AtEnd()) return std::nullopt;
  return out;
}

std::optional<std::string> Nlohmann(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

TEST(JsonScannerTest, DecodesEscapesAndUtf8) {
  EXPECT_EQ(Scan(R"("plain")"), "plain");
  EXPECT_EQ(Scan(R"("a\"b\\c\/d\b\f\n\r\t")"), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(Scan(R"("\u00e9\u20AC")"), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Scan(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");  // a surrogate pair
  EXPECT_EQ(Scan("\"\xF0\x9F\x98\x80 caf\xC3\xA9\""), "\xF0\x9F\x98\x80 caf\xC3\xA9");
  EXPECT_EQ(Scan(R"("\u0000")"), std::string(1, '\0'));
}

TEST(JsonScannerTest, RefusesWhatJsonRefuses) {
  for (std::string_view bad : {
           "\"unterminated", "\"tab\tinside\"", "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"",
           "\"\\ud83dx\"", "\"\xC0\xAF\"",          // overlong '/'
           "\"\xED\xA0\x80\"",                      // a surrogate in UTF-8
           "\"\xF4\x90\x80\x80\"",                  // above U+10FFFF
           "\"\xE2\x82\"",                          // truncated
           "\"\x80\"",                              // a lone continuation byte
       }) {
    EXPECT_EQ(Scan(bad), std::nullopt) << bad;
    EXPECT_EQ(Nlohmann(bad), std::nullopt) << bad;
  }
}

// Whatever the scanner accepts, nlohmann decodes to the same bytes, and it
// accepts every string nlohmann does, over random bytes biased to the
// characters that matter.
TEST(JsonScannerTest, AgreesWithNlohmannOnRandomStrings) {
  std::mt19937 rng(12345);
  const std::string alphabet = "ab\"\\/u0dD8eEfF9nt\x01\x7f\xC3\xA9\xED\xA0\xF0\x9F\x98\x80\xFF ";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1), length(0, 40);
  std::bernoulli_distribution plain(0.9);  // long plain runs reach the 8-byte steps
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text = "\"";
    size_t n = length(rng);
    for (size_t k = 0; k < n; ++k) text.push_back(plain(rng) ? static_cast<char>(0x20 + pick(rng) % 60) : alphabet[pick(rng)]);
    text.push_back('"');
    auto mine = Scan(text), theirs = Nlohmann(text);
    ASSERT_EQ(mine, theirs) << testing::PrintToString(text);
    accepted += mine.has_value();
  }
  EXPECT_GT(accepted, 1000);  // the comparison covered accepted strings, not only refusals
}

TEST(JsonScannerTest, ReadsInt64Exactly) {
  auto read = [](std::string_view text) -> std::optional<int64_t> {
    JsonScanner s(text);
    int64_t v = 0;
    if (!s.ReadInt64(v) || !s.AtEnd()) return std::nullopt;
    return v;
  };
  EXPECT_EQ(read("0"), 0);
  EXPECT_EQ(read(" 1712345678901 "), 1712345678901);
  EXPECT_EQ(read("-42"), -42);
  EXPECT_EQ(read("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(read("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(read("9223372036854775808"), std::nullopt);
  EXPECT_EQ(read("-9223372036854775809"), std::nullopt);
  EXPECT_EQ(read("01"), std::nullopt);
  EXPECT_EQ(read("1.0"), std::nullopt);  // a number, but not an integer
  EXPECT_EQ(read("1e3"), std::nullopt);
  EXPECT_EQ(read("-"), std::nullopt);
  EXPECT_EQ(read("\"1\""), std::nullopt);
}

TEST(JsonScannerTest, SkipsValuesToTheirExactEnd) {
  std::string text = R"({"a": [1, -2.5e3, true, false, null, {"b": "x\"]}"}], "c": 0})";
  JsonScanner s(text);
  std::string key;
  size_t begin = 0, end = 0;
  ASSERT_TRUE(s.Consume('{'));
  ASSERT_TRUE(s.ReadString(key));
  ASSERT_TRUE(s.Consume(':'));
  ASSERT_TRUE(s.SkipValue(begin, end));
  EXPECT_EQ(text.substr(begin, end - begin), R"([1, -2.5e3, true, false, null, {"b": "x\"]}"}])");
  ASSERT_TRUE(s.Consume(','));
  ASSERT_TRUE(s.ReadString(key));
  EXPECT_EQ(key, "c");
  ASSERT_TRUE(s.Consume(':'));
  ASSERT_TRUE(s.SkipValue(begin, end));
  EXPECT_EQ(text.substr(begin, end - begin), "0");
  EXPECT_TRUE(s.Consume('}'));
  EXPECT_TRUE(s.AtEnd());
}

TEST(JsonScannerTest, RefusesMalformedAndTooDeepValues) {
  for (std::string_view bad : {"[1,]", "{\"a\" 1}", "{\"a\":}", "tru", "-", "1.", "1e", "[", "{\"a\":1,}", "01x"}) {
    JsonScanner s(bad);
    size_t begin = 0, end = 0;
    EXPECT_FALSE(s.SkipValue(begin, end) && s.AtEnd()) << bad;
  }
  std::string deep(JsonScanner::kMaxDepth + 1, '[');
  deep += std::string(JsonScanner::kMaxDepth + 1, ']');
  JsonScanner s(deep);
  size_t begin = 0, end = 0;
  EXPECT_FALSE(s.SkipValue(begin, end));
}

}  // namespace
}  // namespace annex
