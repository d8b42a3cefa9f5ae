#include "appliance/logs/log_chunk.h"

#include <zstd.h>

#include <algorithm>

namespace annex::logs {
namespace {

constexpr char kFormatPlain = 1;
constexpr char kFormatZstd = 2;
// Smaller bodies are stored plain: a frame's overhead eats the gain.
constexpr size_t kMinCompressBytes = 512;
// The fastest level: it still shrinks log text several times.
constexpr int kZstdLevel = 1;
// Larger than any chunk the store writes (a batch is at most ~1 MiB of messages).
constexpr uint64_t kMaxBodyBytes = uint64_t{64} << 20;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (size_t i = 0, shift = 0; i < in.size() && shift < 64; ++i, shift += 7) {
    auto byte = static_cast<uint8_t>(in[i]);
    v |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) {
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

Status Damaged() { return Status::Corruption("damaged log chunk"); }

// Per-thread contexts: making one costs more than compressing a batch.
// Frames carry zstd's checksum, so damage on disk is found, not decoded.
ZSTD_CCtx* CompressionContext() {
  thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx = [] {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> c(ZSTD_createCCtx(), ZSTD_freeCCtx);
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, kZstdLevel);
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
    return c;
  }();
  return ctx.get();
}
ZSTD_DCtx* DecompressionContext() {
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  return ctx.get();
}

// The events of a body into `chunk`; views point into `body`.
Status DecodeBody(std::string_view body, uint64_t count, int64_t first_ms, uint64_t first_seq, DecodedChunk& chunk) {
  if (count > body.size()) return Damaged();  // every event takes at least a byte
  chunk.events.reserve(count);
  int64_t t = first_ms;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t delta = 0, length = 0;
    if (!GetVarint(body, delta) || !GetVarint(body, length) || length > body.size()) return Damaged();
    t += UnZigZag(delta);
    chunk.events.push_back(ChunkEvent{t, first_seq + i, body.substr(0, length)});
    body.remove_prefix(length);
  }
  if (!body.empty()) return Damaged();
  return Status::OK();
}

}  // namespace

std::string EncodeChunk(int64_t ingestion_ms, const std::vector<const LogEvent*>& events) {
  uint64_t bytes = 0;
  for (const LogEvent* e : events) bytes += e->message.size();
  std::string body;
  body.reserve(bytes + events.size() * 4);
  int64_t previous = events.empty() ? 0 : events.front()->timestamp_ms;
  for (const LogEvent* e : events) {
    PutVarint(body, ZigZag(e->timestamp_ms - previous));
    previous = e->timestamp_ms;
    PutVarint(body, e->message.size());
    body.append(e->message);
  }
  std::string out;
  out.push_back('\0');
  out.push_back(kFormatPlain);
  PutVarint(out, static_cast<uint64_t>(ingestion_ms));
  PutVarint(out, events.size());
  PutVarint(out, bytes);
  PutVarint(out, body.size());
  size_t header = out.size();
  if (body.size() >= kMinCompressBytes) {
    out.resize(header + ZSTD_compressBound(body.size()));
    size_t n = ZSTD_compress2(CompressionContext(), out.data() + header, out.size() - header, body.data(),
                              body.size());
    if (!ZSTD_isError(n) && n < body.size() - body.size() / 8) {
      out[1] = kFormatZstd;
      out.resize(header + n);
      return out;
    }
    out.resize(header);
  }
  out.append(body);
  return out;
}

Status ChunkTotals(std::string_view data, uint64_t& count, uint64_t& bytes) {
  if (!data.empty() && data[0] == '\0') data.remove_prefix(std::min<size_t>(2, data.size()));
  uint64_t ingestion = 0;
  if (!GetVarint(data, ingestion) || !GetVarint(data, count) || !GetVarint(data, bytes)) return Damaged();
  return Status::OK();
}

Result<DecodedChunk> DecodeChunk(std::string_view data, int64_t first_ms, uint64_t first_seq) {
  DecodedChunk chunk;
  char format = 0;  // the first layout
  if (!data.empty() && data[0] == '\0') {
    if (data.size() < 2) return Damaged();
    format = data[1];
    data.remove_prefix(2);
  }
  uint64_t ingestion = 0, count = 0, body_bytes = 0;
  if (!GetVarint(data, ingestion) || !GetVarint(data, count) || !GetVarint(data, chunk.bytes)) return Damaged();
  chunk.ingestion_ms = static_cast<int64_t>(ingestion);
  if (format == 0) {
    ANNEX_RETURN_IF_ERROR(DecodeBody(data, count, first_ms, first_seq, chunk));
    return chunk;
  }
  if (!GetVarint(data, body_bytes) || body_bytes > kMaxBodyBytes) return Damaged();
  if (format == kFormatPlain) {
    if (body_bytes != data.size()) return Damaged();
    ANNEX_RETURN_IF_ERROR(DecodeBody(data, count, first_ms, first_seq, chunk));
    return chunk;
  }
  if (format != kFormatZstd) return Damaged();
  auto body = std::make_shared<std::string>(body_bytes, '\0');
  size_t n = ZSTD_decompressDCtx(DecompressionContext(), body->data(), body->size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != body_bytes) return Damaged();
  ANNEX_RETURN_IF_ERROR(DecodeBody(*body, count, first_ms, first_seq, chunk));
  chunk.storage = std::move(body);
  return chunk;
}

}  // namespace annex::logs
