#include "appliance/core/strings.h"

#include <gtest/gtest.h>

namespace annex {
namespace {

TEST(Strings, Hex) {
  EXPECT_EQ(HexEncode(std::string_view("\x01\xab\xff", 3)), "01abff");
  EXPECT_EQ(*HexDecode("01ABff"), std::string("\x01\xab\xff", 3));
  EXPECT_FALSE(HexDecode("abc"));
  EXPECT_FALSE(HexDecode("zz"));
}

TEST(Strings, Base64) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode("aGk="), "hi");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("a!=="));
  EXPECT_FALSE(Base64Decode("abc"));
}

TEST(Strings, UriEncodeFollowsSigV4Rules) {
  EXPECT_EQ(UriEncode("a b/c~d-e_f.g*", true), "a%20b/c~d-e_f.g%2A");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(Strings, UriDecode) {
  EXPECT_EQ(*UriDecode("a%20b+c"), "a b+c");
  EXPECT_EQ(*UriDecode("a+b", true), "a b");
  EXPECT_FALSE(UriDecode("%4"));
  EXPECT_FALSE(UriDecode("%zz"));
}

TEST(Strings, ParseUintRejectsJunkAndOverflow) {
  EXPECT_EQ(*ParseUint("0"), 0u);
  EXPECT_EQ(*ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint("18446744073709551616"));
  EXPECT_FALSE(ParseUint("-1"));
  EXPECT_FALSE(ParseUint("1x"));
  EXPECT_FALSE(ParseUint(""));
}

TEST(Strings, CalendarEdges) {
  using std::chrono::seconds;
  // Epoch arithmetic both ways, weekdays included.
  EXPECT_EQ(FormatHttpDate(SystemTime{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(SystemTime{} - seconds(1)), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(FormatIso8601(SystemTime{} - std::chrono::milliseconds(1500)), "1969-12-31T23:59:58.500Z");
  auto leap = ParseAmzDate("20240229T120000Z");
  ASSERT_TRUE(leap);
  EXPECT_EQ(FormatHttpDate(*leap), "Thu, 29 Feb 2024 12:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(*ParseAmzDate("20000301T000000Z")), "Wed, 01 Mar 2000 00:00:00 GMT");
  EXPECT_EQ(FormatAmzDate(*ParseAmzDate("21000228T235959Z") + seconds(1)), "21000301T000000Z");  // not a leap year
  // Out-of-range fields roll over as timegm does; impossible ones are refused.
  EXPECT_EQ(FormatAmzDate(*ParseAmzDate("20240431T000000Z")), "20240501T000000Z");
  EXPECT_EQ(FormatAmzDate(*ParseAmzDate("20231231T235960Z")), "20240101T000000Z");
  EXPECT_FALSE(ParseAmzDate("20241301T000000Z"));
  EXPECT_FALSE(ParseAmzDate("20240132T000000Z"));
  EXPECT_FALSE(ParseAmzDate("20240101T240000Z"));
  EXPECT_EQ(*ParseHttpDate("Thu, 29 Feb 2024 12:00:00 GMT"), *leap);
}

TEST(Strings, Dates) {
  auto t = ParseAmzDate("20130524T000000Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatAmzDate(*t), "20130524T000000Z");
  EXPECT_EQ(FormatHttpDate(*t), "Fri, 24 May 2013 00:00:00 GMT");
  EXPECT_EQ(FormatIso8601(*t), "2013-05-24T00:00:00.000Z");
  EXPECT_EQ(*ParseIso8601("2013-05-24T00:00:00.000Z"), *t);
  EXPECT_EQ(*ParseIso8601("2013-05-24T00:00:00Z"), *t);
  EXPECT_EQ(*ParseIso8601("2013-05-24T00:00:00.25Z"), *t + std::chrono::milliseconds(250));
  EXPECT_EQ(*ParseIso8601("2013-05-24T00:00:00.123456789Z"), *t + std::chrono::milliseconds(123));
  EXPECT_FALSE(ParseIso8601("2013-05-24T00:00:00.Z"));
  EXPECT_FALSE(ParseIso8601("2013-05-24 00:00:00Z"));
  EXPECT_FALSE(ParseIso8601("2013-05-24T00:00:00.000"));
  EXPECT_EQ(*ParseHttpDate("Fri, 24 May 2013 00:00:00 GMT"), *t);
  EXPECT_EQ(*ParseHttpDate("Friday, 24-May-13 00:00:00 GMT"), *t);
  EXPECT_EQ(*ParseHttpDate("Fri May 24 00:00:00 2013"), *t);
  EXPECT_FALSE(ParseHttpDate("yesterday"));
  EXPECT_FALSE(ParseAmzDate("2013-05-24"));
}

TEST(Strings, SplitAndTrim) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(Trim("  x y \t"), "x y");
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
}

}  // namespace
}  // namespace annex
