// PayloadReader: single-chunk bodies checked against x-amz-content-sha256
// and Content-Length as they stream.

#include "appliance/auth/payload_reader.h"

#include <gtest/gtest.h>

#include "appliance/auth/sigv4.h"
#include "appliance/crypto/hash.h"
#include "tests/unit/appliance/auth/auth_test_util.h"

namespace annex::auth {
namespace {

using testing::FakeBodyReader;
using testing::RunTask;

// Reads the whole body in 3-byte reads; the error code or "OK:<body>".
std::string Drain(http::BodyReader& reader) {
  return RunTask([&]() -> http::Task<std::string> {
    std::string out;
    char buf[3];
    while (true) {
      Result<size_t> n = co_await reader.Read(buf);
      if (!n.ok()) co_return n.status().subcode();
      if (*n == 0) co_return "OK:" + out;
      out.append(buf, *n);
    }
  }());
}

TEST(PayloadReader, EmptyBodyChecksTheDigestOfNothing) {
  FakeBodyReader empty("");
  PayloadReader ok(empty, std::string(kEmptyPayloadSha256), 0);
  EXPECT_EQ(Drain(ok), "OK:");

  FakeBodyReader empty2("");
  PayloadReader wrong(empty2, crypto::Sha256Hex("x"), 0);
  EXPECT_EQ(Drain(wrong), "XAmzContentSHA256Mismatch");
}

TEST(PayloadReader, BodyStreamsAndIsVerifiedAtItsEnd) {
  const std::string body = "hello, payload";
  std::string digest = crypto::Sha256Hex(body);
  for (char& c : digest) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));  // hex in any case
  FakeBodyReader raw(body, {1, 4, 2});
  PayloadReader reader(raw, digest, body.size());
  EXPECT_EQ(Drain(reader), "OK:" + body);

  FakeBodyReader tampered("hello, pAyload");
  PayloadReader bad(tampered, crypto::Sha256Hex(body), body.size());
  EXPECT_EQ(Drain(bad), "XAmzContentSHA256Mismatch");
}

TEST(PayloadReader, LengthMustMatchContentLength) {
  FakeBodyReader shorter("abc");
  PayloadReader short_reader(shorter, std::nullopt, 4);
  EXPECT_EQ(Drain(short_reader), "IncompleteBody");

  FakeBodyReader longer("abcde");
  PayloadReader long_reader(longer, std::nullopt, 4);
  EXPECT_EQ(Drain(long_reader), "IncompleteBody");

  FakeBodyReader unsigned_body("abcd");
  PayloadReader exact(unsigned_body, std::nullopt, 4);
  EXPECT_EQ(Drain(exact), "OK:abcd");
}

}  // namespace
}  // namespace annex::auth
