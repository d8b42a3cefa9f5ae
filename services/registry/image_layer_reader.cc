#include "services/registry/image_layer_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <vector>

#include "appliance/crypto/hash.h"

namespace annex::registry {
namespace {

constexpr size_t kBlockSize = 256 * 1024;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

}  // namespace

struct LayerReader::State {
  const os::RandomAccessFile* blob = nullptr;
  uint64_t blob_offset = 0;
  std::vector<char> blob_buf = std::vector<char>(kBlockSize);
  std::vector<char> tar_buf = std::vector<char>(kBlockSize);
  uint64_t max_uncompressed = 0;
  uint64_t uncompressed = 0;
  crypto::Hasher hasher{crypto::HashKind::kSha256};
  ArchivePtr raw;  // decompresses the blob
  ArchivePtr tar;  // reads entries from the decompressed stream
  bool raw_done = false;
  bool too_large = false;  // the uncompressed limit was hit
  bool finished = false;
};

namespace {

// The raw reader's input: the blob, read at increasing offsets.
la_ssize_t ReadBlob(archive* a, void* data, const void** buf) {
  auto* s = static_cast<LayerReader::State*>(data);
  Result<size_t> n = s->blob->ReadAt(s->blob_offset, std::span<char>(s->blob_buf));
  if (!n.ok()) {
    archive_set_error(a, EIO, "reading the layer blob: %s", n.status().message().c_str());
    return -1;
  }
  s->blob_offset += *n;
  *buf = s->blob_buf.data();
  return static_cast<la_ssize_t>(*n);
}

// Uncompressed bytes from the raw reader, hashed and counted; 0 at the end.
la_ssize_t Decompressed(archive* err_to, LayerReader::State* s, char* out, size_t size) {
  if (s->raw_done) return 0;
  la_ssize_t n = archive_read_data(s->raw.get(), out, size);
  if (n < 0) {
    archive_set_error(err_to, EIO, "decompressing the layer: %s", archive_error_string(s->raw.get()));
    return -1;
  }
  if (n == 0) {
    s->raw_done = true;
    return 0;
  }
  s->uncompressed += static_cast<uint64_t>(n);
  if (s->uncompressed > s->max_uncompressed) {
    s->too_large = true;
    std::string why = "the layer is larger than " + std::to_string(s->max_uncompressed) + " bytes uncompressed";
    archive_set_error(err_to, EFBIG, "%s", why.c_str());
    return -1;
  }
  s->hasher.Update(std::string_view(out, static_cast<size_t>(n)));
  return n;
}

// The tar reader's input.
la_ssize_t ReadTar(archive* a, void* data, const void** buf) {
  auto* s = static_cast<LayerReader::State*>(data);
  *buf = s->tar_buf.data();
  return Decompressed(a, s, s->tar_buf.data(), s->tar_buf.size());
}

Status OpenRaw(LayerReader::State& s) {
  s.raw.reset(archive_read_new());
  if (!s.raw) return Status::Internal("libarchive: out of memory");
  archive* a = s.raw.get();
  // Only the layer compressions the OCI spec allows; an uncompressed tar
  // matches no filter and passes through as is.
  // (ARCHIVE_WARN: libarchive was built without the library and runs the
  // external program instead — slower, still correct.)
  if (archive_read_support_filter_gzip(a) == ARCHIVE_FATAL || archive_read_support_filter_zstd(a) == ARCHIVE_FATAL ||
      archive_read_support_format_raw(a) != ARCHIVE_OK) {
    return Status::Internal(std::string("libarchive lacks gzip/zstd: ") + archive_error_string(a));
  }
  if (archive_read_open(a, &s, nullptr, ReadBlob, nullptr) != ARCHIVE_OK) {
    return Status::Corruption(std::string("layer: ") + archive_error_string(a));
  }
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a, &entry);
  if (rc == ARCHIVE_EOF) {
    s.raw_done = true;  // an empty blob: an empty stream
  } else if (rc != ARCHIVE_OK) {
    return Status::Corruption(std::string("layer: ") + archive_error_string(a));
  }
  return Status::OK();
}

Status OpenTar(LayerReader::State& s) {
  s.tar.reset(archive_read_new());
  if (!s.tar) return Status::Internal("libarchive: out of memory");
  archive* a = s.tar.get();
  archive_read_support_format_tar(a);
  if (archive_read_open(a, &s, nullptr, ReadTar, nullptr) != ARCHIVE_OK) {
    std::string why = std::string("layer tar: ") + archive_error_string(a);
    return s.too_large ? Status::ResourceExhausted(std::move(why)) : Status::Corruption(std::move(why));
  }
  return Status::OK();
}

}  // namespace

LayerReader::LayerReader(std::unique_ptr<State> state) : s_(std::move(state)) {}
LayerReader::~LayerReader() = default;

Result<std::unique_ptr<LayerReader>> LayerReader::Open(const os::RandomAccessFile& blob, uint64_t max_uncompressed) {
  auto s = std::make_unique<State>();
  s->blob = &blob;
  s->max_uncompressed = max_uncompressed;
  ANNEX_RETURN_IF_ERROR(OpenRaw(*s));
  ANNEX_RETURN_IF_ERROR(OpenTar(*s));
  return std::unique_ptr<LayerReader>(new LayerReader(std::move(s)));
}

Status LayerReader::TarError(std::string_view what) const {
  const char* msg = archive_error_string(s_->tar.get());
  std::string text = "layer " + std::string(what) + ": " + (msg ? msg : "unknown error");
  if (s_->too_large) return Status::ResourceExhausted(std::move(text));
  return Status::Corruption(std::move(text));
}

Result<archive_entry*> LayerReader::Next() {
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(s_->tar.get(), &entry);
  if (rc == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  // ARCHIVE_WARN is libarchive's "read, but something was odd" (an unknown
  // pax keyword, a charset it could not convert): the entry is usable.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return TarError("tar");
  return entry;
}

Status LayerReader::ReadData(const std::function<Status(int64_t, std::string_view)>& visit) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(s_->tar.get(), &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) return Status::OK();
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return TarError("data");
    ANNEX_RETURN_IF_ERROR(visit(offset, std::string_view(static_cast<const char*>(buf), size)));
  }
}

Result<std::string> LayerReader::Finish() {
  if (s_->finished) return Status::FailedPrecondition("layer reader already finished");
  // Whatever follows the end-of-archive blocks belongs to the diffID too.
  for (;;) {
    la_ssize_t n = Decompressed(s_->tar.get(), s_.get(), s_->tar_buf.data(), s_->tar_buf.size());
    if (n < 0) return TarError("stream");
    if (n == 0) break;
  }
  s_->finished = true;
  return "sha256:" + s_->hasher.FinalHex();
}

uint64_t LayerReader::uncompressed_bytes() const { return s_->uncompressed; }

}  // namespace annex::registry
