// Log chunks: what is encoded decodes to the same events, compressed or not;
// chunks of the first layout still read; damage is Corruption, never a
// misread.

#include "appliance/logs/log_chunk.h"

#include <gtest/gtest.h>

namespace annex::logs {
namespace {

std::vector<const LogEvent*> Pointers(const std::vector<LogEvent>& events) {
  std::vector<const LogEvent*> out;
  for (const auto& e : events) out.push_back(&e);
  return out;
}

void ExpectSame(const DecodedChunk& chunk, const std::vector<LogEvent>& events, uint64_t first_seq) {
  ASSERT_EQ(chunk.events.size(), events.size());
  uint64_t bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(chunk.events[i].timestamp_ms, events[i].timestamp_ms) << i;
    EXPECT_EQ(chunk.events[i].seq, first_seq + i) << i;
    EXPECT_EQ(chunk.events[i].message, events[i].message) << i;
    bytes += events[i].message.size();
  }
  EXPECT_EQ(chunk.bytes, bytes);
}

std::vector<LogEvent> AccessLog(int n) {
  std::vector<LogEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back({1700000000000 + i / 10, "GET /api/v1/items/" + std::to_string(i * 7919 % 1000) +
                                                  " status=200 ms=" + std::to_string(i % 97) + " user-agent=curl/7.88"});
  }
  return events;
}

TEST(LogChunkTest, ALargeBatchIsStoredCompressedAndReadsBack) {
  std::vector<LogEvent> events = AccessLog(1000);
  std::string chunk = EncodeChunk(1700000000500, Pointers(events));
  uint64_t raw = 0;
  for (const auto& e : events) raw += e.message.size();
  EXPECT_LT(chunk.size(), raw / 3) << "log text compresses several times over";
  auto decoded = DecodeChunk(chunk, events.front().timestamp_ms, 40);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->ingestion_ms, 1700000000500);
  ExpectSame(*decoded, events, 40);
  uint64_t count = 0, bytes = 0;
  ASSERT_TRUE(ChunkTotals(chunk, count, bytes).ok());
  EXPECT_EQ(count, 1000u);
  EXPECT_EQ(bytes, raw);

  // The views outlive moves of the decoded chunk.
  DecodedChunk moved = std::move(*decoded);
  ExpectSame(moved, events, 40);
}

TEST(LogChunkTest, SmallAndIncompressibleBatchesAreStoredPlain) {
  std::vector<LogEvent> one = {{5, "x"}};
  std::string plain = EncodeChunk(9, Pointers(one));  // a plain chunk's views point into it
  auto decoded = DecodeChunk(plain, 5, 0);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->storage, nullptr);
  ExpectSame(*decoded, one, 0);

  std::string noise;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 4000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    noise.push_back(static_cast<char>(x));
  }
  std::vector<LogEvent> random = {{1, noise}, {-3, "negative times sort too"}, {2, ""}};
  std::string chunk = EncodeChunk(9, Pointers(random));
  EXPECT_GT(chunk.size(), noise.size());
  auto back = DecodeChunk(chunk, 1, 7);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->storage, nullptr);
  ExpectSame(*back, random, 7);
}

TEST(LogChunkTest, ChunksOfTheFirstLayoutStillRead) {
  // ingestion 300, 2 events, 5 message bytes; deltas +0 and +2 (zigzag 4); "abc", "de".
  std::string old = std::string("\xac\x02\x02\x05", 4) + std::string("\x00\x03" "abc" "\x04\x02" "de", 9);
  auto decoded = DecodeChunk(old, 100, 3);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->ingestion_ms, 300);
  ExpectSame(*decoded, {{100, "abc"}, {102, "de"}}, 3);
}

TEST(LogChunkTest, DamageIsCorruption) {
  std::vector<LogEvent> events = AccessLog(200);
  std::string chunk = EncodeChunk(1, Pointers(events));
  ASSERT_EQ(chunk[1], 2) << "expected a compressed chunk";
  std::string flipped = chunk;
  flipped[flipped.size() / 2] ^= 0x55;
  EXPECT_EQ(DecodeChunk(flipped, 0, 0).status().code(), StatusCode::kCorruption);  // the frame's checksum
  for (size_t cut : {size_t{1}, size_t{3}, chunk.size() / 2, chunk.size() - 1}) {
    auto truncated = DecodeChunk(std::string_view(chunk).substr(0, cut), 0, 0);
    ASSERT_FALSE(truncated.ok()) << cut;
    EXPECT_EQ(truncated.status().code(), StatusCode::kCorruption) << cut;
  }
  std::string unknown = chunk;
  unknown[1] = 9;
  EXPECT_EQ(DecodeChunk(unknown, 0, 0).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace annex::logs
