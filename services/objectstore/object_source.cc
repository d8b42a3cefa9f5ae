#include "services/objectstore/object_source.h"

#include <algorithm>
#include <vector>

#include "appliance/core/co_status.h"
#include "appliance/os/background_run.h"
#include "services/objectstore/sealed_data.h"

namespace annex::objectstore {
namespace {
constexpr size_t kCopyBufferSize = 1 << 20;
// 512 KiB of sealed chunks per read; two reads are in flight.
constexpr uint64_t kChunksPerRead = 8;
}  // namespace

ObjectSource::~ObjectSource() = default;

void ObjectSource::SetDecryption(std::vector<std::string> keys, os::BlockingPool& pool) {
  keys_ = std::move(keys);
  pool_ = &pool;
}

Result<std::string> ObjectSource::InlinePlaintext() {
  if (object_.sse == Sse::kNone) return object_.inline_data;
  if (keys_.empty()) return Status::Internal("encrypted object read without its key");
  std::string plain(object_.size, '\0');
  ANNEX_RETURN_IF_ERROR(OpenChunks(crypto::ThreadAes256Gcm(), keys_[0], 0, object_.inline_data, plain.data()));
  return plain;
}

// One read of an encrypted object: whole sealed chunks of one segment, and
// the part of their plaintext the caller asked for.
struct ObjectSource::Window {
  size_t segment = 0;
  uint64_t first_chunk = 0;
  uint64_t plain_length = 0;  // of the chunks read
  uint64_t skip = 0;          // plaintext bytes before the range
  uint64_t length = 0;        // plaintext bytes of the range
};

std::optional<ObjectSource::Window> ObjectSource::NextWindow(uint64_t& offset, uint64_t& length) const {
  uint64_t local;
  const size_t seg = SegmentAt(offset, local);
  if (length == 0 || seg == object_.segments.size()) return std::nullopt;
  const uint64_t seg_size = object_.segments[seg].size;
  const uint64_t remaining = std::min(length, seg_size - local);
  Window w;
  w.segment = seg;
  w.first_chunk = local / kPlainChunk;
  const uint64_t chunks = std::min(kChunksPerRead, (local + remaining - 1) / kPlainChunk - w.first_chunk + 1);
  const uint64_t plain_first = w.first_chunk * kPlainChunk;
  w.plain_length = std::min(chunks * kPlainChunk, seg_size - plain_first);
  w.skip = local - plain_first;
  w.length = std::min(remaining, w.plain_length - w.skip);
  offset += w.length;
  length -= w.length;
  return w;
}

Status ObjectSource::ReadWindow(const os::RandomAccessFile& file, const Window& w, std::string& sealed,
                                std::string& plain) const {
  sealed.resize(SealedSize(w.plain_length));
  ANNEX_ASSIGN_OR_RETURN(size_t got, file.ReadAt(w.first_chunk * kSealedChunk, {sealed.data(), sealed.size()}));
  if (got != sealed.size()) return Status::Corruption("encrypted data file shorter than its record");
  plain.resize(w.plain_length);
  return OpenChunks(crypto::ThreadAes256Gcm(), keys_[w.segment], w.first_chunk, sealed, plain.data());
}

// Pipelined: the pool reads and decrypts the next window while the sink
// takes the current one, so decryption overlaps the socket.
http::Task<Status> ObjectSource::ReadDecrypted(uint64_t offset, uint64_t length, const Sink& sink) {
  if (keys_.size() != object_.segments.size()) co_return Status::Internal("encrypted object read without its keys");
  std::string sealed[2], plain[2];
  std::optional<Window> current = NextWindow(offset, length);
  if (!current && length > 0) co_return Status::Corruption("object data shorter than its record");
  std::unique_ptr<os::BackgroundRun> pending;
  // Starts reading window `w` into buffer pair `b`.
  auto start = [&](const Window& w, int b) -> Status {
    ANNEX_ASSIGN_OR_RETURN(const os::RandomAccessFile* file, FileFor(w.segment));
    pending = std::make_unique<os::BackgroundRun>(
        *pool_, [this, file, w, &sealed = sealed[b], &plain = plain[b]] {
          return ReadWindow(*file, w, sealed, plain);
        });
    return Status::OK();
  };
  if (current) ANNEX_CO_RETURN_IF_ERROR(start(*current, 0));
  for (int b = 0; current; b ^= 1) {
    Status read = co_await pending->Wait();
    pending.reset();
    ANNEX_CO_RETURN_IF_ERROR(read);
    std::optional<Window> next = NextWindow(offset, length);
    if (!next && length > 0) co_return Status::Corruption("object data shorter than its record");
    if (next) ANNEX_CO_RETURN_IF_ERROR(start(*next, b ^ 1));
    Status sent = co_await sink(std::string_view(plain[b]).substr(current->skip, current->length));
    if (!sent.ok()) {
      if (pending) (void)co_await pending->Wait();  // it writes into this frame's buffers
      co_return sent;
    }
    current = next;
  }
  co_return Status::OK();
}

size_t ObjectSource::SegmentAt(uint64_t offset, uint64_t& local) const {
  for (size_t i = 0; i < object_.segments.size(); ++i) {
    if (offset < object_.segments[i].size) {
      local = offset;
      return i;
    }
    offset -= object_.segments[i].size;
  }
  local = 0;
  return object_.segments.size();
}

Result<const os::RandomAccessFile*> ObjectSource::FileFor(size_t segment) {
  if (segment != open_segment_) {
    open_file_.reset();
    open_segment_ = SIZE_MAX;
    ANNEX_ASSIGN_OR_RETURN(open_file_, files_.Open(object_.segments[segment].file_id));
    open_segment_ = segment;
  }
  return open_file_.get();
}

Status ObjectSource::Prepare(uint64_t offset) {
  if (object_.is_inline()) return Status::OK();
  uint64_t local;
  size_t segment = SegmentAt(offset, local);
  if (segment == object_.segments.size()) return Status::OK();
  auto file = FileFor(segment);
  return file.ok() ? Status::OK() : file.status();
}

http::Task<Status> ObjectSource::SendTo(http::ResponseWriter& out, uint64_t offset, uint64_t length) {
  if (object_.is_inline()) {
    ANNEX_CO_ASSIGN_OR_RETURN(std::string plain, InlinePlaintext());
    if (length > 0) ANNEX_CO_RETURN_IF_ERROR(co_await out.SendBody(std::string_view(plain).substr(offset, length)));
    co_return Status::OK();
  }
  if (object_.sse != Sse::kNone) {
    // A named sink: GCC 12 mishandles temporaries bound inside co_await expressions.
    const Sink send = [&](std::string_view piece) { return out.SendBody(piece); };
    co_return co_await ReadDecrypted(offset, length, send);
  }
  uint64_t local;
  for (size_t seg = SegmentAt(offset, local); length > 0 && seg < object_.segments.size(); ++seg, local = 0) {
    uint64_t n = std::min(length, object_.segments[seg].size - local);
    ANNEX_CO_ASSIGN_OR_RETURN(const os::RandomAccessFile* file, FileFor(seg));
    ANNEX_CO_RETURN_IF_ERROR(co_await out.SendFile(*file, local, n));
    length -= n;
  }
  if (length > 0) co_return Status::Corruption("object data shorter than its record");
  co_return Status::OK();
}

http::Task<Status> ObjectSource::CopyTo(DataWriter& writer, os::BlockingPool& pool, uint64_t offset,
                                        uint64_t length) {
  if (object_.is_inline()) {
    ANNEX_CO_ASSIGN_OR_RETURN(std::string plain, InlinePlaintext());
    co_return co_await writer.Append(std::string_view(plain).substr(offset, length));
  }
  if (object_.sse != Sse::kNone) {
    const Sink append = [&](std::string_view piece) { return writer.Append(piece); };
    co_return co_await ReadDecrypted(offset, length, append);
  }
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(kCopyBufferSize, std::max<uint64_t>(length, 1))));
  uint64_t local;
  for (size_t seg = SegmentAt(offset, local); length > 0 && seg < object_.segments.size(); ++seg, local = 0) {
    uint64_t remaining = std::min(length, object_.segments[seg].size - local);
    ANNEX_CO_ASSIGN_OR_RETURN(const os::RandomAccessFile* file, FileFor(seg));
    while (remaining > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
      // BlockingPool::Run needs a default-constructible result (Boost 1.74
      // co_spawn), so the count comes back through `got`.
      size_t got = 0;
      ANNEX_CO_RETURN_IF_ERROR(co_await pool.Run([&]() -> Status {
        Result<size_t> n = file->ReadAt(local, {buf.data(), want});
        if (!n.ok()) return n.status();
        got = *n;
        return Status::OK();
      }));
      if (got == 0) co_return Status::Corruption("data file shorter than its record");
      ANNEX_CO_RETURN_IF_ERROR(co_await writer.Append({buf.data(), got}));
      local += got;
      remaining -= got;
      length -= got;
    }
  }
  if (length > 0) co_return Status::Corruption("object data shorter than its record");
  co_return Status::OK();
}

}  // namespace annex::objectstore
